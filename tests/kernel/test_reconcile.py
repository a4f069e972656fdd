"""Reconcile: minimal ops, owners never remove each other's entries, outside edits repaired."""
from lvsocf.ipvs import reconcile
from lvsocf.ipvs.model import RealServer, Service, ServiceKey
from tests.kernel.conftest import ipvsadm, saved

KEY = ServiceKey("tcp", "10.0.0.1", 80)


def reconcile_real_servers(k, key: ServiceKey, desired, owned=()) -> reconcile.Result:
    """The engine's real-server plan, applied directly (the engine adds health and records)."""
    return reconcile.apply(k, reconcile.plan_real_servers(key, list(desired),
                                                          k.real_servers(key), owned))


def test_service_add_then_noop_then_edit(k):
    want = Service(KEY, scheduler="rr")
    assert len(reconcile.reconcile_service(k, want).applied) == 1
    assert reconcile.reconcile_service(k, want).applied == []
    result = reconcile.reconcile_service(k, Service(KEY, scheduler="sh",
                                                    sched_flags=frozenset({"sh-port"})))
    assert [op.cmd for op in result.applied] == [2]     # SET_SERVICE, not delete+add
    assert "-A -t 10.0.0.1:80 -s sh -b sh-port" in saved()


def test_two_owners_never_remove_each_other(k):
    reconcile.reconcile_service(k, Service(KEY))
    a = [RealServer("10.0.1.1", 80), RealServer("10.0.1.2", 80)]
    b = [RealServer("10.0.2.1", 80, weight=4)]
    reconcile_real_servers(k, KEY, a, owned={rs.ident for rs in a})
    reconcile_real_servers(k, KEY, b, owned={rs.ident for rs in b})
    # owner A drops one of its own; B's entry must survive
    reconcile_real_servers(k, KEY, a[:1], owned={rs.ident for rs in a})
    assert saved() == {"-A -t 10.0.0.1:80 -s wlc",
                       "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1",
                       "-a -t 10.0.0.1:80 -r 10.0.2.1:80 -g -w 4"}
    # an entry nobody owns (added by hand) is never touched
    ipvsadm("-a", "-t", "10.0.0.1:80", "-r", "10.0.9.9:80", "-m", "-w", "2")
    reconcile_real_servers(k, KEY, [], owned={rs.ident for rs in b})
    assert "-a -t 10.0.0.1:80 -r 10.0.9.9:80 -m -w 2" in saved()
    assert not any("10.0.2.1" in line for line in saved())


def test_outside_edit_restores_only_owned(k):
    reconcile.reconcile_service(k, Service(KEY))
    mine = [RealServer("10.0.1.1", 80, "masq", 5)]
    reconcile_real_servers(k, KEY, mine)
    ipvsadm("-a", "-t", "10.0.0.1:80", "-r", "10.0.2.2:80", "-g", "-w", "1")
    ipvsadm("-e", "-t", "10.0.0.1:80", "-r", "10.0.1.1:80", "-g", "-w", "1")
    ipvsadm("-e", "-t", "10.0.0.1:80", "-r", "10.0.2.2:80", "-g", "-w", "7")
    result = reconcile_real_servers(k, KEY, mine)
    assert len(result.applied) == 1 and result.failed == []
    assert saved() == {"-A -t 10.0.0.1:80 -s wlc", "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 5",
                       "-a -t 10.0.0.1:80 -r 10.0.2.2:80 -g -w 7"}
    assert reconcile_real_servers(k, KEY, mine).applied == []
