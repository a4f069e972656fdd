"""crm_simulate steps on copies of a loaded example, for the hot-standby tests."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from examples_cib import Simulation, layout, parse_simulation, summary
from examples_tools import cib_env, run

from lab.simulate import simulate_xml

# Promotion scores as ocf:lvsocf:IPVSSync sets them (lvsocf/agents/sync/policy.py): 101 on the
# promoted node, 100 on a backup whose daemon has warmed up, 1 before. node1 starts warm,
# the others are still warming.
SCORE_PROMOTED, SCORE_WARM, SCORE_WARMING = 101, 100, 1


class Scenario:
    """One loaded CIB and the simulation steps on copies of it."""

    def __init__(self, built, key: tuple[str, str, int], tmp: Path,
                 cib: Path | None = None) -> None:
        self.name = key[0]
        self.cib = cib or built.cibs[key]
        self.offline = built.cib
        self.tmp = tmp
        self.summary = summary(self.cib)
        self.primitives = self.summary["primitives"]
        self.layout = layout(self.summary)
        self.sync = self.layout.sync
        self.nodes = [f"node{i}" for i in range(1, key[2] + 1)]
        self._n = 0

    def path(self, name: str) -> Path:
        self._n += 1
        return self.tmp / f"{self._n:02d}-{name}.xml"

    def score(self, cib: Path, node: str, value: int) -> None:
        """Set the promotion score of NODE (what the agent sets), if there is a sync daemon."""
        if self.sync is not None:
            run(["crm_attribute", "-N", node, "-n", f"master-{self.sync}", "-l", "reboot",
                 "-v", str(value)], cib_env(cib))

    def simulate(self, src: Path, name: str, *args: str) -> tuple[Simulation, Path]:
        """crm_simulate -S from SRC; the resulting CIB is the second value."""
        out = self.path(name)
        return parse_simulation(simulate_xml(src, out, *args)), out

    def graph(self, src: Path, name: str, *args: str) -> tuple[Path, float]:
        """The transition graph crm_simulate computes from SRC (after ARGS), and the
        scheduler's wall time (crm_simulate without -S: nothing is executed)."""
        out = self.path(name + "-graph")
        start = time.monotonic()
        run(["crm_simulate", "-x", str(src), "-G", str(out), *args], timeout=1800)
        return out, time.monotonic() - start

    def start(self) -> tuple[Simulation, Path]:
        """All nodes online, node1 warm and the others warming, then the first transition."""
        online = self.offline.online(self.cib, f"{self.tmp.name}-online")
        src = self.path("online")
        shutil.copyfile(online, src)
        for node in self.nodes:
            self.score(src, node, SCORE_WARM if node == "node1" else SCORE_WARMING)
        return self.simulate(src, "started")

    def active(self, sim: Simulation) -> str:
        """The active director: the one node with every address and the Promoted sync
        instance, while every online node runs the whole table."""
        where = set()
        for rsc in self.layout.addresses:
            placed = sim.placement.get(rsc, [])
            assert len(placed) == 1 and placed[0][1] == "Started", f"{rsc}: {placed}"
            where.add(placed[0][0])
        assert len(where) == 1, f"addresses split over {where}"
        (node,) = where
        for rsc in self.layout.table:
            assert sorted(sim.placement.get(rsc, [])) == [(n, "Started")
                                                          for n in sorted(sim.online)], rsc
        if self.sync is not None:
            assert sim.nodes_of(self.sync, "Promoted") == {node}
            assert sim.nodes_of(self.sync, "Unpromoted") == sim.online - {node}
        return node

    def other(self, node: str) -> str:
        return next(n for n in self.nodes if n != node)

    def rejoin(self, src: Path, node: str, score: int) -> Path:
        """NODE back online with its promotion score."""
        back = self.path(f"{node}-back")
        run(["crm_simulate", "-x", str(src), "-u", node, "-O", str(back)])
        self.score(back, node, score)
        return back

    def untouched(self, sim: Simulation, but: tuple[str, ...] = ()) -> None:
        """Nothing was done to any resource but BUT (monitors aside)."""
        for rsc in self.primitives:
            if rsc not in but and not rsc.startswith("fence-"):
                assert sim.changes(rsc) == [], f"{rsc} was touched"
