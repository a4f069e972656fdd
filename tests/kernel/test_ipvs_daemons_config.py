"""Sync daemons, timeouts and sysctls, cross-checked with ipvsadm --daemon / --timeout."""
import pytest

from lab.netns import run
from lvsocf.ipvs import errors, sysctl
from lvsocf.ipvs.model import SyncDaemon, Timeouts
from tests.kernel.conftest import ipvsadm


@pytest.fixture
def iface():
    run(["ip", "link", "add", "sync0", "type", "dummy"])
    run(["ip", "addr", "add", "192.0.2.1/24", "dev", "sync0"])
    run(["ip", "link", "set", "sync0", "up", "multicast", "on"])
    return "sync0"


def test_master_and_backup_with_all_options(k, iface):
    k.start_daemon(SyncDaemon("master", iface, syncid=5, maxlen=1400, mcast_group="239.1.1.1",
                              mcast_port=9000, mcast_ttl=2))
    k.start_daemon(SyncDaemon("backup", iface, syncid=5))
    out = ipvsadm("-Ln", "--daemon")
    assert ("master sync daemon (mcast=sync0, syncid=5, maxlen=1400, group=239.1.1.1, "
            "port=9000, ttl=2)") in out
    assert "backup sync daemon (mcast=sync0, syncid=5" in out and "port=8848" in out
    daemons = {d.state: d for d in k.daemons()}
    assert daemons["master"] == SyncDaemon("master", iface, 5, 1400, "239.1.1.1", 9000, 2)
    assert daemons["backup"].mcast_port == 8848 and daemons["backup"].syncid == 5
    k.stop_daemon("master")
    assert [d.state for d in k.daemons()] == ["backup"]
    assert "master" not in ipvsadm("-Ln", "--daemon")
    k.stop_daemon("backup")
    assert k.daemons() == [] and ipvsadm("-Ln", "--daemon") == ""


def test_ipv6_group(k, iface):
    run(["ip", "addr", "add", "2001:db8::1/64", "dev", iface, "nodad"])
    k.start_daemon(SyncDaemon("backup", iface, syncid=1, mcast_group="ff02::8848"))
    assert "group=ff02::8848" in ipvsadm("-Ln", "--daemon")
    assert k.daemons()[0].mcast_group == "ff02::8848"


def test_daemon_errors(k, iface):
    k.start_daemon(SyncDaemon("master", iface))
    with pytest.raises(errors.Exists):
        k.start_daemon(SyncDaemon("master", iface))
    k.stop_daemon("master")
    with pytest.raises(errors.IpvsError):
        k.stop_daemon("master")
    with pytest.raises(errors.IpvsError):
        k.start_daemon(SyncDaemon("master", "nosuchif0"))


def test_timeouts(k):
    default = k.timeouts()
    assert f"Timeout (tcp tcpfin udp): {default.tcp} {default.tcp_fin} {default.udp}" in \
        ipvsadm("-Ln", "--timeout")
    k.set_timeouts(Timeouts(tcp=100, tcp_fin=20, udp=30))
    assert "Timeout (tcp tcpfin udp): 100 20 30" in ipvsadm("-Ln", "--timeout")
    k.set_timeouts(Timeouts(tcp=0, tcp_fin=0, udp=45))     # 0 = unchanged
    assert k.timeouts() == Timeouts(100, 20, 45)


def test_sysctls(k):
    assert sysctl.read("sync_threshold") == "3 50"
    assert sysctl.ensure({"sync_threshold": "0 0", "sync_refresh_period": 10,
                          "backup_only": 0}) == {"sync_threshold": "3 50",
                                                  "sync_refresh_period": "0"}
    assert run(["sysctl", "-n", "net.ipv4.vs.sync_threshold"]).stdout.split() == ["0", "0"]
    assert sysctl.ensure({"sync_threshold": "0 0"}) == {}
    for name in ("sync_retries", "expire_nodest_conn", "expire_quiescent_template",
                 "sloppy_tcp", "conn_reuse_mode", "backup_only"):
        old = sysctl.read(name)
        sysctl.write(name, 1)
        assert run(["sysctl", "-n", f"net.ipv4.vs.{name}"]).stdout.strip() == "1"
        sysctl.write(name, old)
    with pytest.raises(sysctl.SysctlError):
        sysctl.write("sync_retries", "not-a-number")
    with pytest.raises(sysctl.SysctlError):
        sysctl.read("no_such_thing")
