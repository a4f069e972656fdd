"""Reconcile planning: the minimal op list, and never an op on an entry the caller does not own."""
from hypothesis import given
from hypothesis import strategies as st

from lvsocf.ipvs import protocol
from lvsocf.ipvs.model import RealServer, RealServerInfo, Service, ServiceInfo, ServiceKey
from lvsocf.ipvs.reconcile import plan_real_servers, plan_service

KEY = ServiceKey("tcp", "10.0.0.1", 80)
addresses = st.sampled_from([f"10.0.1.{i}" for i in range(1, 9)])
servers = st.builds(lambda address, method, weight: RealServer(address, 80, method, weight),
                    addresses, st.sampled_from(["gate", "masq"]), st.integers(0, 3))


def test_service_plan():
    want = Service(KEY, scheduler="rr")
    assert [op.cmd for op in plan_service(want, None)] == [protocol.CMD_NEW_SERVICE]
    assert plan_service(want, ServiceInfo(want)) == []
    other = ServiceInfo(Service(KEY, scheduler="wlc"))
    assert [op.cmd for op in plan_service(want, other)] == [protocol.CMD_SET_SERVICE]


@given(desired=st.lists(servers, unique_by=lambda r: r.address),
       actual=st.lists(servers, unique_by=lambda r: r.address),
       extra_owned=st.sets(addresses))
def test_plan_touches_only_owned(desired, actual, extra_owned):
    owned = {(a, 80) for a in extra_owned}
    plan = plan_real_servers(KEY, desired, [RealServerInfo(r) for r in actual], owned)
    touched = [op.what.split()[2] for op in plan]   # "real server ADDR:PORT of ..."
    allowed = {f"{a}:80" for a, _ in owned} | {str(r) for r in desired}
    assert set(touched) <= allowed
    have = {r.ident: r for r in actual}
    # applying the plan by hand gives the desired state for owned entries
    for op in plan:
        addr = op.what.split()[2].split(":")[0]
        if op.cmd == protocol.CMD_DEL_DEST:
            del have[(addr, 80)]
        else:
            have[(addr, 80)] = next(r for r in desired if r.address == addr)
    for r in desired:
        assert have[r.ident] == r
    assert all(ident in {r.ident for r in desired} or ident not in owned for ident in have)
    # and a second plan is empty
    assert plan_real_servers(KEY, desired, [RealServerInfo(r) for r in have.values()],
                             owned) == []
