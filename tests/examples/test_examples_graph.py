"""The failover transition graph (crm_simulate -G) does not grow with the table.

Each example runs everywhere, then gets 2 and 100 real servers per service (copies of its
first one, examples_cib.scale_real_servers) and the active director fails (--node-fail,
fenced). The longest chain of agent runs in the graph (examples_cib.longest_chain: every
rsc_op but cancels, monitors included, pseudo events and fencing not) must be at most
MAX_CHAIN and the same at both sizes. The group layout that crm-examples/README.md keeps as
an option is measured the same way: N + 4. Scheduler times (crm_simulate wall time for that
transition) are printed, not asserted: pytest -rP shows them.
"""

from __future__ import annotations

import re

import pytest
from examples_cib import Simulation, longest_chain, scale_real_servers
from examples_sim import Scenario
from examples_tools import BUILT_IDS, BUILT_KEYS, EXAMPLES, THREE_NODES

MAX_CHAIN = 4
SIZES = (2, 100)
TIMED = (100, 1000)
SIM_KEYS = [k for k in BUILT_KEYS if k[1] == "crm"]
SIM_IDS = [i for k, i in zip(BUILT_KEYS, BUILT_IDS, strict=True) if k[1] == "crm"]


@pytest.fixture(params=SIM_KEYS, ids=SIM_IDS)
def scenario(request, built, tmp_path) -> Scenario:
    return Scenario(built, request.param, tmp_path)


def _active(scenario: Scenario, sim: Simulation) -> str:
    (node,) = {n for rsc in scenario.layout.addresses for n, _ in sim.placement[rsc]}
    return node


def failover(scenario: Scenario, sizes) -> dict[int, tuple[list[str], float]]:
    """For each size N: the longest chain of the failover graph with N real servers per
    service, and the scheduler's time for it."""
    sim, out = scenario.start()
    active = _active(scenario, sim)
    found = {}
    for n in sizes:
        scaled = scenario.path(f"{n}rs")
        scale_real_servers(out, scaled, n)
        graph, seconds = scenario.graph(scaled, f"failover-{n}rs", "--node-fail", active)
        found[n] = (longest_chain(graph), seconds)
    return found


def _report(title: str, found: dict[int, tuple[list[str], float]]) -> None:
    for n, (chain, seconds) in found.items():
        print(f"{title}, {n} real servers per service: chain {len(chain)}, "
              f"scheduler {seconds:.2f} s: {' -> '.join(chain[:3])}"
              f"{' -> ... -> ' + ' -> '.join(chain[-2:]) if len(chain) > 5 else ''}")


def test_failover_chain_is_short_and_constant(scenario):
    found = failover(scenario, SIZES)
    _report(f"hot standby {scenario.name} ({len(scenario.nodes)} nodes)", found)
    chains = [chain for chain, _ in found.values()]
    assert all(len(chain) <= MAX_CHAIN for chain in chains), chains
    assert len({len(chain) for chain in chains}) == 1, chains
    # on the chain: the promotion and the addresses, nothing of the table
    allowed = {rsc for rsc in [scenario.sync, *scenario.layout.addresses] if rsc}
    for chain in chains:
        assert {step.split("@")[0].rsplit("_", 2)[0] for step in chain} <= allowed, chain


def test_scaled_tables_are_at_rest(scenario):
    """The scaling itself changes nothing: the copies' history matches their
    configuration, so the scheduler has nothing to do before the failover."""
    sim, out = scenario.start()
    scaled = scenario.path("100rs")
    scale_real_servers(out, scaled, 100)
    sim, _ = scenario.simulate(scaled, "at-rest")
    assert sim.actions == []
    assert len(sim.placement) > 100


# ---------------------------------------------------------------------------- group layout

def readme_group_layout() -> str:
    """The group layout snippet of crm-examples/README.md (the ```crm block in the section
    "The group layout")."""
    text = (EXAMPLES / "README.md").read_text().split("## The group layout", 1)[1]
    return re.search(r"```crm\n(.*?)```", text, re.S).group(1)


def group_layout(crm_text: str, snippet: str) -> str:
    """An example in the group layout: its primitives and its sync clone, the snippet's
    group and constraints instead of the table clones and the other constraints."""
    keep, statement = [], []
    for line in crm_text.splitlines():
        statement.append(line)
        if line.endswith("\\"):
            continue
        words = statement[0].split()
        table_clone = words[:1] == ["clone"] and "promotable=true" not in " ".join(statement)
        if not (table_clone or words[:1] in (["colocation"], ["order"])):
            keep.extend(statement)
        statement = []
    return "\n".join(keep) + "\n" + snippet


def test_group_layout_grows_with_the_table(built, tmp_path):
    """The README's group layout of example 2: N + 4 agent runs in series at failover
    (promote, service, N real servers, VIP, its monitor)."""
    crm = tmp_path / "group.crm"
    crm.write_text(group_layout((EXAMPLES / "2-dr-sync" / "dr-sync.crm").read_text(),
                                readme_group_layout()))
    cib = built.cib.new("group-layout")
    built.cib.crm_load(cib, crm)
    scenario = Scenario(built, (THREE_NODES, "crm", 2), tmp_path, cib=cib)
    assert "lvs-www" in scenario.summary["groups"]
    found = failover(scenario, (*SIZES, *TIMED[1:]))
    _report("group layout 2-dr-sync", found)
    for n, (chain, _) in found.items():
        assert len(chain) == n + 4


def test_scheduler_time(built, tmp_path):
    """Printed only: the scheduler's time for the failover transition of example 2 at 100
    and 1,000 real servers (the group layout's is in the test above)."""
    scenario = Scenario(built, (THREE_NODES, "crm", 2), tmp_path)
    found = failover(scenario, TIMED)
    _report("hot standby 2-dr-sync", found)
    assert all(len(chain) <= MAX_CHAIN for chain, _ in found.values())
