"""Services through lvsocf.ipvs, each cross-checked with `ipvsadm -Sn`."""
import pytest

from lvsocf.ipvs import errors
from lvsocf.ipvs.model import Service, ServiceKey
from tests.kernel.conftest import ipvsadm, saved

CASES = [
    (Service(ServiceKey("tcp", "10.0.0.1", 80), scheduler="rr"), "-A -t 10.0.0.1:80 -s rr"),
    (Service(ServiceKey("udp", "10.0.0.1", 53), scheduler="wrr", one_packet=True),
     "-A -u 10.0.0.1:53 -s wrr -o"),
    (Service(ServiceKey("sctp", "10.0.0.2", 5060), persistent=30, pe_name="sip"),
     "-A --sctp-service 10.0.0.2:5060 -s wlc -p 30 --pe sip"),
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


@pytest.mark.parametrize("scheduler", ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh",
                                       "sed", "nq", "fo", "ovf", "mh", "twos"])
def test_every_scheduler_module_loads(k, scheduler):
    key = ServiceKey("tcp", "10.1.0.1", 80)
    try:
        k.add_service(Service(key, scheduler=scheduler))
    except errors.SchedulerMissing:
        assert scheduler == "twos", "only twos is newer than Debian 12's kernel"
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


def test_stats_and_zero(k):
    key = ServiceKey("tcp", "10.0.0.1", 80)
    k.add_service(Service(key))
    assert k.services()[0].stats.conns == 0
    k.zero(key)
    k.zero()
    assert "IP Virtual Server" in ipvsadm("-Ln", "--stats")


def test_version(k):
    version, size = k.version()
    assert version.count(".") == 2 and size > 0
    assert f"version {version} (size={size})" in ipvsadm("-Ln")
