"""Live: the shipped crm example 2 on two Pacemaker/Corosync directors in the lab VM.

First one real server's backend stops and starts again: it is quiesced (weight 0, crm_mon -A
shows it down) and restored. Then SIGKILL the active director: VIP, service, real servers and
the sync master come up together on the other one and every long-lived client connection
(active and idle) survives; new connections work. Then the director returns, warms up as sync
backup and the service fails back: every connection survives that too.
"""
from lvsocf.lab import failover
from lvsocf.lab.demo import example_config


def test_failover_and_failback_keep_every_connection(tmp_path):
    cib = failover.build_cib(example_config(), tmp_path, failover.PROPERTIES)
    group = failover.vip_group(cib)
    result = failover.run_scenario(cib, print, group=group, active=3, idle=9, keepalive=10,
                                   settle=30, warmup=30)
    print(failover.report(result))
    assert set(result.failover) == {"vip", "service", "real_servers", "sync_master"}
    assert set(result.failback) == {"vip", "service", "real_servers", "sync_master"}
    assert set(result.phases["quiesce"]) == {"quiesced", "restored"}
    assert not result.phases["failover"]["broken"]
    assert not result.phases["failback"]["broken"]
    clients = result.clients
    assert clients["total"] == 12
    assert clients["kept"] == clients["total"], clients["broken"]
    assert clients["probes_ok"] > 0
