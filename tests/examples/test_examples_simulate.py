"""What Pacemaker's scheduler does with the examples (crm_simulate, no agent runs): the lvs
resources and the Promoted sync instance stay together on one node, move together when that
node goes away, stay where they are when it comes back, and a failed real server is
recovered in place without touching the service."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from examples_cib import (
    AGENT_REALSERVER,
    AGENT_SERVICE,
    AGENT_SYNC,
    Simulation,
    parse_simulation,
    summary,
)
from examples_tools import BUILT_IDS, BUILT_KEYS, cib_env, run

# Promotion scores as ocf:lvsocf:IPVSSync sets them (lvsocf/agents/sync.py): 100 once the
# backup daemon has warmed up, 1 before. node1 starts warm, the others are still warming;
# the failback tests keep the survivor at 1 and bring node1 back warm (100): stickiness
# alone must keep the service where it is.
SCORE_WARM, SCORE_WARMING = 100, 1
SCORES = {"node1": SCORE_WARM}
OTHER_SCORE = SCORE_WARMING


class Scenario:
    """One loaded CIB and the simulation steps on copies of it."""

    def __init__(self, built, key: tuple[str, str, int], tmp: Path) -> None:
        self.cib = built.cibs[key]
        self.offline = built.cib
        self.tmp = tmp
        sm = summary(self.cib)
        self.primitives = sm["primitives"]
        self.groups = sm["groups"]
        self.lvs = [m for members in self.groups.values() for m in members]
        children = [c["child"] for c in sm["clones"].values()
                    if self.primitives[c["child"]]["agent"] == AGENT_SYNC]
        self.sync = children[0] if children else None
        self.nodes = [f"node{i}" for i in range(1, key[2] + 1)]

    def score(self, cib: Path, node: str) -> None:
        """Inject the promotion score of NODE (what the agent's probe would set)."""
        if self.sync is None:
            return
        value = SCORES.get(node, OTHER_SCORE)
        run(["crm_attribute", "-N", node, "-n", f"master-{self.sync}", "-l", "reboot",
             "-v", str(value)], cib_env(cib))

    def simulate(self, src: Path, name: str, *args: str) -> tuple[Simulation, Path]:
        out = self.tmp / f"{name}.xml"
        proc = run(["crm_simulate", "-x", str(src), "-S", "-O", str(out), "--output-as=xml",
                    *args])
        return parse_simulation(proc.stdout), out

    def start(self) -> tuple[Simulation, Path]:
        """All nodes online with their promotion scores, then the first transition."""
        online = self.offline.online(self.cib, f"{self.tmp.name}-online")
        src = self.tmp / "online.xml"
        shutil.copyfile(online, src)
        for node in self.nodes:
            self.score(src, node)
        return self.simulate(src, "started")

    def together(self, sim: Simulation) -> str:
        """The one node where every lvs resource runs (and the sync daemon is Promoted)."""
        where = set()
        for rsc in self.lvs:
            placed = sim.placement.get(rsc, [])
            assert len(placed) == 1 and placed[0][1] == "Started", f"{rsc}: {placed}"
            where.add(placed[0][0])
        assert len(where) == 1, f"lvs resources split over {where}"
        (node,) = where
        if self.sync is not None:
            assert sim.nodes_of(self.sync, "Promoted") == {node}
            assert sim.nodes_of(self.sync, "Unpromoted") == sim.online - {node}
        return node


# The crm CIBs only: the pcs ones are the same (test_crm_and_pcs_define_the_same).
SIM_KEYS = [k for k in BUILT_KEYS if k[1] == "crm"]


@pytest.fixture(params=SIM_KEYS, ids=[i for k, i in zip(BUILT_KEYS, BUILT_IDS, strict=True)
                                      if k[1] == "crm"])
def scenario(request, built, tmp_path) -> Scenario:
    return Scenario(built, request.param, tmp_path)


def test_everything_starts_together(scenario):
    sim, _ = scenario.start()
    node = scenario.together(sim)
    assert sim.online == set(scenario.nodes)
    if scenario.sync is not None:
        assert node == "node1", "the service must follow the highest promotion score"


@pytest.mark.parametrize("event", ["down", "fail"])
def test_failover_moves_everything_together_and_it_stays(scenario, event):
    """The active node goes down cleanly (-d) or fails and is fenced (-f): everything
    comes up together on another node; when the node returns (with its promotion score,
    even the preferred one) nothing moves back."""
    sim, out = scenario.start()
    active = scenario.together(sim)
    flag = {"down": "--node-down", "fail": "--node-fail"}[event]
    sim, out = scenario.simulate(out, "failover", flag, active)
    assert active not in sim.online
    assert sim.fenced == ({active} if event == "fail" else set())
    new = scenario.together(sim)
    assert new != active

    back = scenario.tmp / "back.xml"
    run(["crm_simulate", "-x", str(out), "-u", active, "-O", str(back)])
    scenario.score(back, active)
    sim, _ = scenario.simulate(back, "failback")
    assert active in sim.online
    assert scenario.together(sim) == new
    for rsc in scenario.lvs:
        assert sim.changes(rsc) == [], f"{rsc} was touched when {active} came back"
    if scenario.sync is not None:
        assert sim.changes(scenario.sync) == [("start", active)]


def test_failed_real_server_is_recovered_in_place(scenario):
    sim, out = scenario.start()
    active = scenario.together(sim)
    members = next(iter(scenario.groups.values()))
    agents = [scenario.primitives[m]["agent"] for m in members]
    rs = members[agents.index(AGENT_REALSERVER)]
    (interval,) = [i for name, i, _, _ in scenario.primitives[rs]["ops"] if name == "monitor"]
    sim, _ = scenario.simulate(out, "rs-failed", "-i", f"{rs}_monitor_{interval}@{active}=1")
    assert scenario.together(sim) == active
    assert ("start", active) in sim.changes(rs), "the failed real server was not recovered"
    for pid, p in scenario.primitives.items():
        if p["agent"] in (AGENT_SERVICE, AGENT_SYNC):
            assert sim.changes(pid) == [], f"{pid} was touched by a real server failure"
    for m in members[:members.index(rs)]:
        assert sim.changes(m) == [], f"{m} (before {rs} in the group) was restarted"
    for other in [m for ms in scenario.groups.values() if ms is not members for m in ms]:
        assert sim.changes(other) == [], f"{other} (another group) was restarted"


def test_moving_the_group_moves_the_promoted_sync_instance(scenario):
    """`crm resource move GROUP NODE` / `pcs resource move GROUP NODE` (a location
    constraint on the group, as crm_resource --move writes it): everything moves, the
    Promoted sync instance and the other groups included."""
    sim, out = scenario.start()
    active = scenario.together(sim)
    target = next(n for n in scenario.nodes if n != active)
    gid = next(iter(scenario.groups))
    run(["cibadmin", "-o", "constraints", "-C", "-X",
         f'<rsc_location id="cli-prefer-{gid}" rsc="{gid}" node="{target}" '
         'score="INFINITY"/>'], cib_env(out))
    sim, _ = scenario.simulate(out, "moved")
    assert scenario.together(sim) == target
