"""What Pacemaker's scheduler does with the examples' hot-standby layout (crm_simulate, no
agent runs): every director runs the whole table; the addresses (and the Promoted sync
instance) are on one of them; a failover, a switchover and a failback move only those; a
failed real server or a failed backup touches nothing else."""

from __future__ import annotations

import datetime
import shlex

import pytest
from examples_cib import ordered_before, rule_summary
from examples_sim import SCORE_WARM, SCORE_WARMING, Scenario
from examples_tools import (
    BUILT_IDS,
    BUILT_KEYS,
    EXAMPLES,
    SCENARIOS,
    THREE_NODES,
    cib_env,
    run,
)

# The crm CIBs only: the pcs ones are the same (test_crm_and_pcs_define_the_same).
SIM_KEYS = [k for k in BUILT_KEYS if k[1] == "crm"]
SIM_IDS = [i for k, i in zip(BUILT_KEYS, BUILT_IDS, strict=True) if k[1] == "crm"]
WITH_SYNC = {s.name for s in SCENARIOS if "ocf:lvsocf:IPVSSync" in s.crm.read_text()}
SYNC_KEYS = [k for k in SIM_KEYS if k[0] in WITH_SYNC]


def readme_commands(section: str, *starts: str) -> list[list[str]]:
    """The commands of a section of crm-examples/README.md that begin with one of STARTS,
    as argv lists (continuation lines joined, split as sh does)."""
    text = (EXAMPLES / "README.md").read_text().split(section, 1)[1].split("\n#", 1)[0]
    found, cur = [], ""
    for line in text.splitlines():
        cur += line.strip()
        if cur.endswith("\\"):
            cur = cur[:-1]
            continue
        if cur.startswith(starts):
            found.append(shlex.split(cur, comments=True))
        cur = ""
    return found


@pytest.fixture(params=SIM_KEYS, ids=SIM_IDS)
def scenario(request, built, tmp_path) -> Scenario:
    return Scenario(built, request.param, tmp_path)


@pytest.fixture(params=SYNC_KEYS, ids=[i for k, i in zip(SIM_KEYS, SIM_IDS, strict=True)
                                       if k in SYNC_KEYS])
def sync_scenario(request, built, tmp_path) -> Scenario:
    return Scenario(built, request.param, tmp_path)


def _monitor(scenario: Scenario, rsc: str) -> int:
    (interval,) = [i for name, i, _, _ in scenario.primitives[rsc]["ops"] if name == "monitor"]
    return interval


def _moved(scenario: Scenario, sim, old: str, new: str) -> None:
    """The addresses and the Promoted role went from OLD to NEW, nothing else changed."""
    lay = scenario.layout
    for rsc in lay.addresses:
        assert sorted(sim.changes(rsc)) == [("start", new), ("stop", old)], rsc
    if scenario.sync is not None:
        assert sorted(sim.changes(scenario.sync)) == [("demote", old), ("promote", new)]


def test_every_director_runs_the_table(scenario):
    sim, _ = scenario.start()
    node = scenario.active(sim)
    assert sim.online == set(scenario.nodes)
    if scenario.sync is not None:
        assert node == "node1", "the VIP must follow the highest promotion score"


def test_cold_start_orders_every_table(scenario):
    """Each director starts its service before that service's real servers; the active one
    starts its addresses after its service (and after the promotion)."""
    online = scenario.offline.online(scenario.cib, f"{scenario.tmp.name}-cold")
    for node in scenario.nodes:
        scenario.score(online, node, SCORE_WARM if node == "node1" else SCORE_WARMING)
    sim, _ = scenario.simulate(online, "cold")
    active = scenario.active(sim)
    graph, _ = scenario.graph(online, "cold")
    lay = scenario.layout
    for rs, svc in lay.service_of.items():
        for node in scenario.nodes:
            assert ordered_before(graph, f"{svc}_start_0@{node}", f"{rs}_start_0@{node}")
    for vip in lay.addresses:
        for svc in lay.services:
            if ordered_before(graph, f"{svc}_start_0@{active}", f"{vip}_start_0@{active}"):
                break
        else:
            raise AssertionError(f"{vip} does not wait for a service")
        if scenario.sync is not None:
            assert ordered_before(graph, f"{scenario.sync}_promote_0@{active}",
                                  f"{vip}_start_0@{active}") == lay.backup_only


@pytest.mark.parametrize("event", ["down", "fail"])
def test_failover_moves_only_the_addresses_and_the_promoted_role(scenario, event):
    """The active director goes down cleanly (-d) or fails and is fenced (-f): the survivor
    promotes its sync instance and starts the addresses, and does nothing else: in that
    order where backups never balance (backup_only), side by side where they may. When
    the director returns, it starts its share of the table (and its sync backup) and
    takes nothing back, still warming up or warm."""
    sim, out = scenario.start()
    active = scenario.active(sim)
    flag = {"down": "--node-down", "fail": "--node-fail"}[event]
    graph, _ = scenario.graph(out, "failover", flag, active)
    sim, out = scenario.simulate(out, "failover", flag, active)
    assert active not in sim.online
    assert sim.fenced == ({active} if event == "fail" else set())
    new = scenario.active(sim)
    lay = scenario.layout
    done = {(rsc, op) for rsc, op, node in sim.actions
            if node == new and op not in ("monitor", "cancel") and not rsc.startswith("fence-")}
    want = {(rsc, "start") for rsc in lay.addresses}
    if scenario.sync is not None:
        want.add((scenario.sync, "promote"))
        for rsc in lay.addresses:
            assert ordered_before(graph, f"{scenario.sync}_promote_0@{new}",
                                  f"{rsc}_start_0@{new}") == lay.backup_only
    assert done == want

    back = scenario.rejoin(out, active, SCORE_WARMING)
    sim, out = scenario.simulate(back, "rejoined")
    assert scenario.active(sim) == new
    for rsc in [*lay.table, *([scenario.sync] if scenario.sync else [])]:
        assert sim.changes(rsc) == [("start", active)], rsc
    scenario.untouched(sim, but=(*lay.table, scenario.sync))
    scenario.score(out, active, SCORE_WARM)
    sim, _ = scenario.simulate(out, "warm")
    scenario.untouched(sim)


@pytest.mark.parametrize("rc", [1, 7])
def test_failed_real_server_touches_only_itself(scenario, rc):
    """A real server's monitor fails (error, or not running) on the active director: that
    instance is recovered in place, nothing else is touched."""
    sim, out = scenario.start()
    active = scenario.active(sim)
    rs = next(iter(scenario.layout.real_servers))
    sim, _ = scenario.simulate(out, "rs-failed",
                               "-i", f"{rs}_monitor_{_monitor(scenario, rs)}@{active}={rc}")
    assert scenario.active(sim) == active
    assert sim.changes(rs) == [("stop", active), ("start", active)]
    scenario.untouched(sim, but=(rs,))


def test_stopping_a_real_server_touches_only_it(scenario):
    """`crm resource stop RS-clone` (pcs resource disable RS-clone): the real server leaves
    every director, nothing else moves."""
    sim, out = scenario.start()
    active = scenario.active(sim)
    rs = next(iter(scenario.layout.real_servers))
    run(["crm", "resource", "stop", scenario.layout.real_servers[rs]], cib_env(out))
    sim, _ = scenario.simulate(out, "rs-stopped")
    assert sorted(sim.changes(rs)) == [("stop", n) for n in scenario.nodes]
    scenario.untouched(sim, but=(rs,))
    assert sim.nodes_of(scenario.layout.addresses[0]) == {active}


def _fail_service(scenario: Scenario, src, node: str):
    """The first service's monitor fails on NODE: that director unloads the service and
    its real servers (migration-threshold=1). Returns the simulation, its CIB and those
    resources."""
    svc = next(iter(scenario.layout.services))
    mine = (svc, *[rs for rs, s in scenario.layout.service_of.items() if s == svc])
    sim, out = scenario.simulate(src, f"svc-failed-{node}",
                                 "-i", f"{svc}_monitor_{_monitor(scenario, svc)}@{node}=7")
    for rsc in mine:
        assert sim.changes(rsc) == [("stop", node)], rsc
    return sim, out, mine


def test_failed_service_on_a_backup_touches_only_that_backup(scenario):
    """A service fails on a backup director: that director unloads it, the VIP and
    everything else stay; it loads them again once failure-timeout has passed."""
    sim, out = scenario.start()
    active = scenario.active(sim)
    backup = scenario.other(active)
    sim, out, mine = _fail_service(scenario, out, backup)
    scenario.untouched(sim, but=mine)
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=5)
    sim, _ = scenario.simulate(out, "failure-expired", "-t", later.strftime("%Y-%m-%d %H:%M:%SZ"))
    for rsc in mine:
        assert sim.changes(rsc) == [("start", backup)], rsc
    assert scenario.active(sim) == active


def test_failed_service_on_the_active_director_switches_over(scenario):
    """A service fails on the active director: instead of rebuilding the table under the
    VIP, the addresses (and the Promoted role) move to the backup, whose table is warm;
    the failed director unloads that service and its real servers."""
    sim, out = scenario.start()
    active = scenario.active(sim)
    sim, _, mine = _fail_service(scenario, out, active)
    _moved(scenario, sim, active, scenario.other(active))
    scenario.untouched(sim, but=(*mine, *scenario.layout.addresses, scenario.sync))


def test_moving_the_active_director(scenario):
    """`crm resource move VIP NODE` (crm_resource --move; pcs resource move does the same)
    of the first VIP: the addresses and the Promoted role move, the tables stay."""
    sim, out = scenario.start()
    active = scenario.active(sim)
    target = scenario.other(active)
    lay = scenario.layout
    run(["crm", "resource", "move", lay.top[lay.addresses[0]], target], cib_env(out))
    sim, _ = scenario.simulate(out, "moved")
    assert scenario.active(sim) == target
    _moved(scenario, sim, active, target)
    scenario.untouched(sim, but=(*lay.addresses, scenario.sync))


def test_moving_the_promoted_role_splits_nothing(sync_scenario):
    """The Promoted role follows the VIP (crm-examples/README.md says to move the VIP): a
    `crm_resource --move --promoted` cannot be met and moves nothing; above all it never
    parts the master sync daemon from the VIP."""
    scenario = sync_scenario
    sim, out = scenario.start()
    active = scenario.active(sim)
    run(["crm_resource", "--move", "--promoted", "-r", scenario.layout.sync_clone,
         "-N", scenario.other(active)], cib_env(out))
    sim, _ = scenario.simulate(out, "moved-promoted")
    assert scenario.active(sim) == active
    scenario.untouched(sim)


def test_failover_goes_to_the_warm_director(built, tmp_path):
    """Three directors, the active one fails: the VIP and the Promoted role go to the
    survivor whose sync backup is warm (promotion score 100), not to one still warming up
    (1), whichever node that is: the VIP's location rule on the promotion score."""
    for warm in ("node2", "node3"):
        (tmp_path / warm).mkdir()
        scenario = Scenario(built, (THREE_NODES, "crm", 3), tmp_path / warm)
        sim, out = scenario.start()
        assert scenario.active(sim) == "node1"
        scenario.score(out, warm, SCORE_WARM)
        sim, _ = scenario.simulate(out, "failover", "--node-down", "node1")
        assert scenario.active(sim) == warm


def test_failback_after_warm_up_by_promotion_score(sync_scenario):
    """The README's failback rule: node1 takes the VIP (and the Promoted role) back only
    once its sync backup has warmed up (promotion score 100); until then, and without the
    rule, stickiness keeps everything where it is. The rule reads the same from crm and
    from pcs (written for example 2's www-vip: the other examples' first VIP here)."""
    scenario = sync_scenario
    sync, clone = scenario.sync, scenario.layout.sync_clone
    first_vip = scenario.layout.top[scenario.layout.addresses[0]]
    sim, out = scenario.start()
    assert scenario.active(sim) == "node1"
    sim, out = scenario.simulate(out, "failover", "--node-down", "node1")
    new = scenario.active(sim)
    sim, out = scenario.simulate(scenario.rejoin(out, "node1", SCORE_WARMING), "rejoined")

    crm, pcs = (
        [a.replace("www-vip", first_vip) for a in argv]
        for argv in readme_commands("### Failback after warm-up", "crm configure",
                                    "pcs constraint"))
    assert (crm[0], pcs[0]) == ("crm", "pcs") and (sync, clone) == ("sync", "ipvs-sync")
    pcs_cib = scenario.path("pcs-rule")
    pcs_cib.write_bytes(out.read_bytes())
    run(crm, cib_env(out))
    run(["pcs", "-f", str(pcs_cib), *pcs[1:]])
    assert rule_summary(out) == rule_summary(pcs_cib) != {}

    sim, out = scenario.simulate(out, "warming")
    scenario.untouched(sim)
    scenario.score(out, "node1", SCORE_WARM)
    graph, _ = scenario.graph(out, "failback")
    sim, _ = scenario.simulate(out, "failback")
    assert scenario.active(sim) == "node1"
    _moved(scenario, sim, new, "node1")
    scenario.untouched(sim, but=(*scenario.layout.addresses, sync))
    for rsc in scenario.layout.addresses:
        assert ordered_before(graph, f"{sync}_demote_0@{new}", f"{sync}_promote_0@node1")
        assert ordered_before(graph, f"{sync}_promote_0@node1",
                              f"{rsc}_start_0@node1") == scenario.layout.backup_only


def test_no_table_without_backup_only(built, tmp_path):
    """Directors that are also real servers (3-dr-directors): a director whose sync daemon
    cannot run (here: banned) unloads its table, since backup_only is not in force there;
    the active director is not touched."""
    scenario = Scenario(built, ("3-dr-directors", "crm", 2), tmp_path)
    sim, out = scenario.start()
    active = scenario.active(sim)
    backup = scenario.other(active)
    run(["crm_resource", "--ban", "-r", scenario.layout.sync_clone, "-N", backup],
        cib_env(out))
    sim, _ = scenario.simulate(out, "sync-banned")
    for rsc in [scenario.sync, *scenario.layout.table]:
        assert sim.changes(rsc) == [("stop", backup)], rsc
    scenario.untouched(sim, but=(scenario.sync, *scenario.layout.table))
