"""Live: `make demo`'s scenario, the shipped crm example 2 (hot-standby layout) on two
Pacemaker/Corosync directors in the lab VM, run on the agents the .deb installed (what users
run; `make demo` runs the same on this checkout's agents).

Both directors load the whole table and check every real server. One real server's backend
starts failing its health check (it still accepts connections): it is quiesced (weight 0,
its private node attribute says down) on BOTH directors. Then SIGKILL the active director: the
survivor runs nothing but the sync promotion and the VIP start, every long-lived client connection
(active and idle) survives, new connections work, and none of them reaches the failing
backend (counted at the backends). The backend recovers: new connections reach it within
rise x check_interval. Then the director returns, reloads its table, warms up as sync
backup, and takes the service back by its promotion score alone (the README's failback
rule, no standby command): every connection survives that too.

Larger tables (example.more_real_servers) do not fit a test in the TCG guest: with 10 real
servers every director runs 10 monitors and 10 checks, and agent actions timed out on its
2 vCPUs. They run in bench/failover --real-servers N.
"""
import pytest

from lab import example, failover
from lab.demo import example_config
from tests.installed.conftest import AGENT_DIR

# the first check after a backend recovers comes up to one check late, then each check and
# the weight change take time in a TCG guest
CHECK_SLACK = 8.0


def check_hot_standby(result: failover.Result, layout: example.Layout) -> None:
    """What every hot-standby failover and failback must show."""
    print(failover.report(result))
    assert set(result.failover) == set(failover.PIECES)
    assert set(result.failback) == set(failover.PIECES)
    # warm health: the backend that failed its check before the crash got no new connection
    # after it (counted at the backends); once well it gets traffic within rise x interval
    warm = result.phases["warm_health"]
    assert warm["new_conns_at_down_backend"] == 0, warm
    assert warm["new_conns_elsewhere"] > 0, warm
    assert warm["traffic_back"] <= warm["rise_time"] + CHECK_SLACK, warm
    # constant work at failover: only the Promoted role and the VIP move
    actions = result.phases["failover"]["actions"]
    assert f"start {layout.vip}" in actions, actions
    assert set(actions) <= {f"promote {layout.sync}", f"start {layout.vip}"}, actions
    # where its time went, from the survivor's pacemaker.log (printed by report())
    assert any(f"start operation for {layout.vip}" in what
               for _, what in result.phases["failover"]["steps"]), result.phases["failover"]
    # the rejoined director takes the master role only after its backup daemon warmed up
    assert result.failback["sync_master"] >= example.LAB_WARMUP, result.failback
    assert result.failback["service"] < result.failback["vip"], "the table before the VIP"
    assert not result.phases["failover"]["broken"]
    assert not result.phases["failback"]["broken"]
    clients = result.clients
    assert clients["kept"] == clients["total"] == 12, clients["broken"]
    assert clients["probes_ok"] > 0


@pytest.mark.parametrize("installed", ["deb"], indirect=True)
def test_failover_and_failback_on_the_installed_agents(installed, tmp_path):
    assert "/usr/lib/lvsocf" in (AGENT_DIR / "IPVSRealServer").read_text()
    cib = example.build_cib(example_config(), tmp_path, example.PROPERTIES, installed=True)
    result = failover.run_scenario(cib, print, active=3, idle=9, keepalive=10, settle=30,
                                   installed=True)
    check_hot_standby(result, example.layout_of(cib))
