"""Services through lvsocf.ipvs, each cross-checked with `ipvsadm -Sn`."""
import os
import time

import pytest

from lvsocf.ipvs import errors
from lvsocf.ipvs.model import RealServer, Service, ServiceKey
from tests.kernel.conftest import ipvsadm, saved, start_echo_server

CASES = [
    (Service(ServiceKey("tcp", "10.0.0.1", 80), scheduler="rr"), "-A -t 10.0.0.1:80 -s rr"),
    (Service(ServiceKey("udp", "10.0.0.1", 53), scheduler="wrr", one_packet=True),
     "-A -u 10.0.0.1:53 -s wrr -o"),
    (Service(ServiceKey("udp", "10.0.0.2", 5060), persistent=30, pe_name="sip"),
     "-A -u 10.0.0.2:5060 -s wlc -p 30 --pe sip"),
    (Service(ServiceKey("sctp", "10.0.0.2", 5060), persistent=30),
     "-A --sctp-service 10.0.0.2:5060 -s wlc -p 30"),
    (Service(ServiceKey("tcp", "10.0.0.3", 443), scheduler="sh",
             sched_flags=frozenset({"sh-port", "sh-fallback"})),
     "-A -t 10.0.0.3:443 -s sh -b sh-fallback,sh-port"),
    (Service(ServiceKey("tcp", "10.0.0.4", 443), scheduler="mh",
             sched_flags=frozenset({"mh-port"})), "-A -t 10.0.0.4:443 -s mh -b mh-port"),
    (Service(ServiceKey("tcp", "10.0.0.5", 22), scheduler="lc", persistent=300,
             netmask="255.255.255.0"), "-A -t 10.0.0.5:22 -s lc -p 300 -M 255.255.255.0"),
    (Service(ServiceKey(fwmark=7), scheduler="rr"), "-A -f 7 -s rr"),
    (Service(ServiceKey(fwmark=8, family="inet6"), scheduler="rr", persistent=60, netmask=64),
     "-A -f 8 -6 -s rr -p 60 -M 64"),
    (Service(ServiceKey("tcp", "2001:db8::1", 80), scheduler="wlc", persistent=120, netmask=48),
     "-A -t [2001:db8::1]:80 -s wlc -p 120 -M 48"),
    (Service(ServiceKey("udp", "2001:db8::2", 53), scheduler="fo"), "-A -u [2001:db8::2]:53 -s fo"),
]


@pytest.mark.parametrize("svc,rule", CASES, ids=[c[1] for c in CASES])
def test_add_read_back_delete(k, svc, rule):
    k.add_service(svc)
    assert rule in saved()
    (info,) = k.services()
    assert info.service.key == svc.key
    assert svc.same_settings(info.service)
    assert k.service(svc.key).service == info.service
    k.delete_service(svc.key)
    assert saved() == set()
    assert k.service(svc.key) is None


def kernel_version() -> tuple[int, int]:
    major, minor = os.uname().release.split(".")[:2]
    return int(major), int(minor)


@pytest.mark.parametrize("scheduler", ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh",
                                       "sed", "nq", "fo", "ovf", "mh", "twos"])
def test_every_scheduler_module_loads(k, scheduler):
    """Every scheduler the IPVSService agent offers; twos came with Linux 6.2, so Debian 12's
    6.1 refuses it with SchedulerMissing and Debian 13's 6.12 must load it."""
    key = ServiceKey("tcp", "10.1.0.1", 80)
    try:
        k.add_service(Service(key, scheduler=scheduler))
    except errors.SchedulerMissing:
        assert (scheduler, kernel_version() < (6, 2)) == ("twos", True), \
            f"{scheduler} is missing on {os.uname().release}"
        return
    assert f"-A -t 10.1.0.1:80 -s {scheduler}" in saved()


def test_edit_in_place_keeps_real_servers_and_counters(k):
    from lvsocf.ipvs.model import RealServer
    key = ServiceKey("tcp", "10.0.0.1", 80)
    k.add_service(Service(key, scheduler="rr"))
    k.add_real_server(key, RealServer("10.0.1.1", 80, method="masq", weight=3))
    k.edit_service(Service(key, scheduler="wlc", persistent=600, netmask="255.255.0.0"))
    assert saved() == {"-A -t 10.0.0.1:80 -s wlc -p 600 -M 255.255.0.0",
                       "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 3"}
    k.edit_service(Service(key, scheduler="wlc"))
    assert "-A -t 10.0.0.1:80 -s wlc" in saved()


def test_delete_touches_only_that_service(k):
    a, b = ServiceKey("tcp", "10.0.0.1", 80), ServiceKey("tcp", "10.0.0.1", 81)
    k.add_service(Service(a))
    k.add_service(Service(b))
    k.delete_service(a)
    assert saved() == {"-A -t 10.0.0.1:81 -s wlc"}


def test_typed_errors(k):
    key = ServiceKey("tcp", "10.0.0.1", 80)
    with pytest.raises(errors.SchedulerMissing, match="nosuch"):
        k.add_service(Service(key, scheduler="nosuch"))
    with pytest.raises(errors.SchedulerMissing):
        k.add_service(Service(key, persistent=10, pe_name="nosuchpe"))
    k.add_service(Service(key))
    with pytest.raises(errors.Exists):
        k.add_service(Service(key))
    with pytest.raises(errors.NotFound):
        k.delete_service(ServiceKey("tcp", "10.0.0.9", 80))
    with pytest.raises(errors.NotFound):
        k.edit_service(Service(ServiceKey("udp", "10.0.0.9", 80)))
    with pytest.raises(errors.InvalidArgument):
        k.add_service(Service(ServiceKey("tcp", "2001:db8::1", 80), persistent=5, netmask=129))


TALK = """
import socket, sys
for port in sys.argv[1:]:
    with socket.create_connection(("10.0.0.1", int(port)), timeout=10) as c:
        c.sendall(b"hello\\n")
        assert c.recv(100) == b"hello\\n"
"""


def kernel_stats(port: int, line_start: str = "TCP") -> tuple[int, int]:
    """(connections, packets in) of service 10.0.0.1:PORT (or of its real server's line,
    "  ->"), read with ipvsadm."""
    out = ipvsadm("-Ln", "--stats", "--exact", "-t", f"10.0.0.1:{port}")
    line = next(x for x in out.splitlines()[2:] if x.startswith(line_start))
    return int(line.split()[2]), int(line.split()[3])


def test_stats_and_zero(k, nat_topology):
    """Counters of real traffic read through lvsocf.ipvs equal ipvsadm's; zeroing one
    service leaves the other's; zeroing all clears every one."""
    import sys
    topo, cl, rs = nat_topology
    keys = {port: ServiceKey("tcp", "10.0.0.1", port) for port in (80, 81)}
    for port, key in keys.items():
        start_echo_server(topo, rs, "10.0.1.1", port)
        k.add_service(Service(key, scheduler="rr"))
        k.add_real_server(key, RealServer("10.0.1.1", port, method="masq"))
    topo.exec(cl, [sys.executable, "-c", TALK, "80", "80", "80", "81", "81"])

    def ours(port: int) -> tuple[int, int]:
        stats = k.service(keys[port]).stats
        return stats.conns, stats.inpkts

    # the kernel sums its per-CPU counters into the service's on each estimator tick (2 s);
    # since 6.2 the estimators run in kthreads that first calibrate themselves, which takes
    # much longer in a TCG guest
    deadline = time.monotonic() + 120
    while kernel_stats(81)[0] < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert kernel_stats(80)[0] == ours(80)[0] == 3 and ours(80)[1] >= 9
    assert kernel_stats(81)[0] == ours(81)[0] == 2
    assert kernel_stats(80) == ours(80) and kernel_stats(81) == ours(81)
    # and each real server's, read by the bulk dump reader (or not read, when not asked)
    (dest,) = k.real_servers(keys[80])
    assert (dest.stats.conns, dest.stats.inpkts) == kernel_stats(80, "  ->") == ours(80)
    (rules_only,) = k.real_servers(keys[80], stats=False)
    assert rules_only.stats is None and rules_only.real_server == dest.real_server
    k.zero(keys[80])
    assert ours(80) == kernel_stats(80) == (0, 0)
    assert ours(81) == kernel_stats(81) and ours(81)[0] == 2
    k.zero()
    assert ours(81) == kernel_stats(81) == (0, 0)


def test_version(k):
    version, size = k.version()
    assert version.count(".") == 2 and size > 0
    assert f"version {version} (size={size})" in ipvsadm("-Ln")
