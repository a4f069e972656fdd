"""Live: the shipped crm example 2 (hot-standby layout) on two Pacemaker/Corosync directors
in the lab VM, with this checkout's agents (tests/installed runs the same on the .deb's).

Both directors load the whole table and check every real server. One real server's backend
stops and starts again: it is quiesced (weight 0, crm_mon -A shows it down) on BOTH
directors and restored. Then SIGKILL the active director: the survivor runs nothing but the
sync promotion and the VIP start, and every long-lived client connection (active and idle)
survives; new connections work. Then the director returns, reloads its table, warms up as
sync backup, and takes the service back by its promotion score alone (the README's failback
rule, no standby command): every connection survives that too.

Larger tables (failover.more_real_servers) do not fit the TCG guest: with 10 real servers
every director runs 10 monitors and 10 checks, and agent actions (IPaddr2 start, IPVSSync
stop) timed out on its 2 vCPUs. They belong to bench/failover --real-servers N.
"""
from lvsocf.lab import failover
from lvsocf.lab.demo import example_config


def check_hot_standby(result: failover.Result, layout: failover.Layout) -> None:
    """What every hot-standby failover and failback must show (used by tests/installed)."""
    print(failover.report(result))
    assert set(result.failover) == set(failover.PIECES)
    assert set(result.failback) == set(failover.PIECES)
    assert set(result.phases["quiesce"]) == {"quiesced", "restored"}
    # constant work at failover: only the Promoted role and the VIP move
    actions = result.phases["failover"]["actions"]
    assert f"start {layout.vip}" in actions, actions
    assert set(actions) <= {f"promote {layout.sync}", f"start {layout.vip}"}, actions
    # the rejoined director takes the master role only after its backup daemon warmed up
    assert result.failback["sync_master"] >= failover.LAB_WARMUP, result.failback
    assert result.failback["service"] < result.failback["vip"], "the table before the VIP"
    assert not result.phases["failover"]["broken"]
    assert not result.phases["failback"]["broken"]
    clients = result.clients
    assert clients["kept"] == clients["total"] == 12, clients["broken"]
    assert clients["probes_ok"] > 0


def test_hot_standby_failover_and_failback_keep_every_connection(tmp_path):
    cib = failover.build_cib(example_config(), tmp_path, failover.PROPERTIES)
    result = failover.run_scenario(cib, print, active=3, idle=9, keepalive=10, settle=30)
    check_hot_standby(result, failover.layout_of(cib))
