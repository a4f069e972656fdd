"""Real servers through lvsocf.ipvs, cross-checked with `ipvsadm -Sn`/`-Ln --thresholds`."""
import pytest

from lvsocf.ipvs import errors
from lvsocf.ipvs.model import RealServer, Service, ServiceKey
from tests.kernel.conftest import ipvsadm, saved

KEY = ServiceKey("tcp", "10.0.0.1", 80)


@pytest.fixture
def svc(k):
    k.add_service(Service(KEY, scheduler="wrr"))
    return KEY


@pytest.mark.parametrize("rs,rule", [
    (RealServer("10.0.1.1", 80, "gate", 1), "-r 10.0.1.1:80 -g -w 1"),
    (RealServer("10.0.1.2", 8080, "masq", 5), "-r 10.0.1.2:8080 -m -w 5"),
    (RealServer("10.0.1.3", 80, "ipip", 0), "-r 10.0.1.3:80 -i -w 0"),
    (RealServer("10.0.1.4", 80, "ipip", 2, tun_type="gue", tun_port=6080),
     "-r 10.0.1.4:80 -i -w 2 --tun-type gue --tun-port 6080 --tun-nocsum"),
    (RealServer("10.0.1.5", 80, "ipip", 2, tun_type="gre"),
     "-r 10.0.1.5:80 -i -w 2 --tun-type gre"),
])
def test_add_each_method(k, svc, rs, rule):
    k.add_real_server(svc, rs)
    assert any(line.startswith(f"-a -t 10.0.0.1:80 {rule}") for line in saved()), saved()
    (info,) = k.real_servers(svc)
    assert info.real_server.method == rs.method and info.real_server.weight == rs.weight
    assert info.real_server.ident == rs.ident


def test_thresholds_and_counts(k, svc):
    k.add_real_server(svc, RealServer("10.0.1.1", 80, "masq", 3, u_threshold=100, l_threshold=10))
    out = ipvsadm("-Ln", "--thresholds")
    assert "10.0.1.1:80" in out and " 100 " in out.replace("\t", " ") and " 10 " in out
    (info,) = k.real_servers(svc)
    assert (info.real_server.u_threshold, info.real_server.l_threshold) == (100, 10)
    assert (info.active_conns, info.inactive_conns, info.persistent_conns) == (0, 0, 0)


def test_edit_never_loses_forwarding_method(k, svc):
    """pyroute2's dest("set") without fwd_method turns NAT into DR: our edit always sends it."""
    k.add_real_server(svc, RealServer("10.0.1.1", 80, "masq", 1))
    k.edit_real_server(svc, RealServer("10.0.1.1", 80, "masq", 9))
    assert "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 9" in saved()
    k.edit_real_server(svc, RealServer("10.0.1.1", 80, "ipip", 9))
    assert any(r.startswith("-a -t 10.0.0.1:80 -r 10.0.1.1:80 -i -w 9") for r in saved())


@pytest.mark.parametrize("service,server", [
    ("2001:db8::1", "10.0.1.1"),            # an IPv4 tunnel endpoint behind an IPv6 VIP
    ("10.0.0.1", "2001:db8:1::1"),
])
def test_cross_family_ipip_real_server_is_removed(k, service, server):
    """The delete names the real server's own address family (the kernel assumes the
    service's otherwise and never finds it): add, then delete, each checked by ipvsadm."""
    key = ServiceKey("tcp", service, 80)
    k.add_service(Service(key))
    k.add_real_server(key, RealServer(server, 80, "ipip", 1))
    shown = f"[{server}]:80" if ":" in server else f"{server}:80"
    assert any(f"-r {shown} -i" in rule for rule in saved()), saved()
    k.delete_real_server(key, server, 80)
    assert not any(f"-r {shown}" in rule for rule in saved()), saved()
    assert k.real_servers(key) == []


def test_ipv6_and_fwmark_services(k):
    k6 = ServiceKey("tcp", "2001:db8::1", 80)
    k.add_service(Service(k6))
    k.add_real_server(k6, RealServer("2001:db8:1::1", 80, "masq", 2))
    kf = ServiceKey(fwmark=3)
    k.add_service(Service(kf))
    k.add_real_server(kf, RealServer("10.0.2.1", 0, "gate", 1))
    rules = saved()
    assert "-a -t [2001:db8::1]:80 -r [2001:db8:1::1]:80 -m -w 2" in rules
    assert "-a -f 3 -r 10.0.2.1:0 -g -w 1" in rules
    assert k.real_servers(k6)[0].real_server.address == "2001:db8:1::1"


def test_delete_only_that_one_and_errors(k, svc):
    k.add_real_server(svc, RealServer("10.0.1.1", 80))
    k.add_real_server(svc, RealServer("10.0.1.2", 80))
    k.delete_real_server(svc, "10.0.1.1", 80)
    assert saved() == {"-A -t 10.0.0.1:80 -s wrr", "-a -t 10.0.0.1:80 -r 10.0.1.2:80 -g -w 1"}
    with pytest.raises(errors.NotFound):
        k.delete_real_server(svc, "10.0.1.1", 80)
    with pytest.raises(errors.Exists):
        k.add_real_server(svc, RealServer("10.0.1.2", 80))
    with pytest.raises(errors.NotFound):
        k.add_real_server(ServiceKey("tcp", "10.9.9.9", 80), RealServer("10.0.1.3", 80))


def test_pipelined_apply_reports_each_failure(k, svc):
    from lvsocf.ipvs.op import Op
    batch = [Op.add_real_server(svc, RealServer(f"10.0.3.{i}", 80)) for i in range(1, 201)]
    batch.insert(50, Op.add_real_server(svc, RealServer("10.0.3.1", 80)))   # duplicate
    results = k.apply(batch)
    assert [i for i, r in enumerate(results) if r is not None] == [50]
    assert isinstance(results[50], errors.Exists)
    assert results[50].op is batch[50]
    assert len([r for r in saved() if r.startswith("-a")]) == 200


def test_batched_apply_attributes_failures_across_batches(k, svc):
    """Failures first, last and on both sides of a batch boundary (netlink.BATCH) each come
    back for their own op, and the ops around them are applied."""
    from lvsocf.ipvs import netlink
    from lvsocf.ipvs.op import Op
    servers = [RealServer(f"10.1.{i // 250}.{i % 250 + 1}", 80 + i % 2,
                          ("masq", "gate", "ipip")[i % 3], i % 7, (i % 5) * 100, (i % 5) * 40)
               for i in range(600)]
    batch = [Op.add_real_server(svc, rs) for rs in servers]
    bad = [0, netlink.BATCH - 1, netlink.BATCH, len(batch)]
    for at in reversed(bad):
        batch.insert(at, Op.delete_real_server(svc, "10.9.9.9", 80))   # not there: ENOENT
    results = k.apply(batch)
    failed = [i for i, r in enumerate(results) if r is not None]
    assert failed == [i + n for n, i in enumerate(bad)]
    assert all(isinstance(results[i], errors.NotFound) and results[i].op is batch[i]
               for i in failed)
    assert "10.9.9.9:80" in str(results[failed[0]])
    rules = saved()
    assert len([r for r in rules if r.startswith("-a")]) == 600
    assert any(r.startswith("-a -t 10.0.0.1:80 -r 10.1.0.5:80 -g -w 4") for r in rules)
    assert {i.real_server for i in k.real_servers(svc)} == set(servers)   # the bulk decoder
    assert [i.real_server for i in k.real_servers(svc, stats=False)] == [
        i.real_server for i in k.real_servers(svc)]


def test_a_big_table_reads_back_as_ipvsadm_sees_it(k):
    """Many services of both families, every forwarding method and tunnel setting: the table
    read through lvsocf.ipvs (with and without counters) is what `ipvsadm -Sn` prints."""
    from lvsocf.ipvs.netlink import iter_services
    from lvsocf.ipvs.op import Op
    ops = []
    for s in range(12):
        six = s % 2 == 1
        key = ServiceKey("tcp", f"2001:db8:{s}::1" if six else f"10.0.{s}.1", 80)
        ops.append(Op.add_service(Service(key, scheduler="wlc")))
        for r in range(150):
            method = ("masq", "gate", "ipip")[r % 3]
            tunnel = {"tun_type": ("ipip", "gue", "gre")[r % 3], "tun_port": 6080 if r % 3 == 1
                      else 0} if method == "ipip" else {}
            address = f"2001:db8:{s}:1::{r + 2:x}" if six else f"10.{s + 1}.{r // 200}.{r + 2}"
            ops.append(Op.add_real_server(key, RealServer(
                address, 80 + r % 3, method, r % 11, **tunnel)))
    assert not [e for e in k.apply(ops) if e is not None]

    def rule(key: ServiceKey, rs: RealServer) -> str:
        host = f"[{key.address}]" if ":" in key.address else key.address
        dest = f"[{rs.address}]" if ":" in rs.address else rs.address
        flag = {"masq": "-m", "gate": "-g", "ipip": "-i"}[rs.method]
        line = f"-a -t {host}:{key.port} -r {dest}:{rs.port} {flag} -w {rs.weight}"
        if rs.method == "ipip" and rs.tun_type != "ipip":
            line += f" --tun-type {rs.tun_type}"
            if rs.tun_type == "gue":
                line += f" --tun-port {rs.tun_port}"
        return line

    ipvsadm_rules = sorted(r for r in saved() if r.startswith("-a"))
    assert len(ipvsadm_rules) == 1800
    for counters in (True, False):
        table = list(iter_services(k, stats=counters))
        ours = sorted(rule(info.service.key, d.real_server) for info, dests in table
                      for d in dests)
        assert [r.split(" --tun-nocsum")[0] for r in ipvsadm_rules] == ours
        assert all((d.stats is not None) == counters for _, dests in table for d in dests)
        assert all((info.stats is not None) == counters for info, _ in table)
