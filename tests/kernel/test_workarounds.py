"""One test per pyroute2 gap/bug that lvsocf.ipvs works around (listed in lvsocf/ipvs/wire.py
next to the code that avoids each)."""
import pyroute2
import pytest
from pyroute2 import IPVS, IPVSDest, IPVSService

from lvsocf.ipvs.model import RealServer, Service, ServiceKey, SyncDaemon, Timeouts
from tests.kernel.conftest import saved


def test_pyroute2_update_deletes_but_ours_edits(k):
    k.add_service(Service(ServiceKey("tcp", "10.0.0.1", 80)))
    with IPVS() as p:
        p.service("update", service=IPVSService(addr="10.0.0.1", port=80, protocol=6))
    assert saved() == set(), "pyroute2 'update' deleted the service (bug still present)"
    k.add_service(Service(ServiceKey("tcp", "10.0.0.1", 80)))
    k.edit_service(Service(ServiceKey("tcp", "10.0.0.1", 80), scheduler="rr"))
    assert saved() == {"-A -t 10.0.0.1:80 -s rr"}


def test_pyroute2_dest_set_loses_nat_but_ours_keeps_it(k):
    key = ServiceKey("tcp", "10.0.0.1", 80)
    k.add_service(Service(key))
    k.add_real_server(key, RealServer("10.0.1.1", 80, "masq"))
    with IPVS() as p:
        svc = IPVSService(addr="10.0.0.1", port=80, protocol=6)
        p.dest("set", service=svc, dest=IPVSDest(addr="10.0.1.1", port=80, weight=2))
    assert "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 2" in saved()
    k.edit_real_server(key, RealServer("10.0.1.1", 80, "masq", 3))
    assert "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 3" in saved()


def test_pyroute2_fwmark_needs_af_and_netmask(k):
    with IPVS() as p, pytest.raises(pyroute2.NetlinkError):
        p.service("add", service=IPVSService(fwmark=5))
    k.add_service(Service(ServiceKey(fwmark=5)))
    assert "-A -f 5 -s wlc" in saved()


def test_ipv6_netmask_is_a_prefix_length(k):
    k.add_service(Service(ServiceKey("tcp", "2001:db8::1", 80), persistent=10, netmask=56))
    assert "-A -t [2001:db8::1]:80 -s wlc -p 10 -M 56" in saved()
    assert k.services()[0].service.netmask == 56


def test_from_message_drops_fields_but_ours_reads_raw(k):
    key = ServiceKey("tcp", "10.0.0.1", 80)
    k.add_service(Service(key, scheduler="rr", persistent=77, one_packet=True))
    k.add_real_server(key, RealServer("10.0.1.1", 80, "masq", 4))
    with IPVS() as p:
        msg = next(iter(p.service("dump")))
        assert "stats" not in IPVSService.from_message(msg)
    info = k.services()[0]
    assert info.service.persistent == 77 and info.service.one_packet
    assert k.real_servers(key)[0].real_server.method == "masq"


def test_daemon_and_config_commands_exist_only_here(k):
    from pyroute2.netlink.generic.ipvs import ipvsmsg
    assert dict(ipvsmsg.nla_map)["IPVS_CMD_ATTR_DAEMON"] == "hex"
    k.set_timeouts(Timeouts(tcp=123))
    assert k.timeouts().tcp == 123
    from lab.netns import run
    run(["ip", "link", "add", "s0", "type", "dummy"])
    run(["ip", "addr", "add", "192.0.2.1/24", "dev", "s0"])
    run(["ip", "link", "set", "s0", "up"])
    k.start_daemon(SyncDaemon("backup", "s0", syncid=3, mcast_port=9999))
    assert k.daemons()[0].mcast_port == 9999
