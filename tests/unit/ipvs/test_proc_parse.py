"""Parsers of /proc/net/ip_vs and /proc/net/ip_vs_conn on text captured from a 6.1 kernel."""
from lvsocf.ipvs import proc
from lvsocf.ipvs.model import ServiceKey

IP_VS = """IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port Forward Weight ActiveConn InActConn
TCP  0A000001:0050 rr persistent 7500 FFFFFF00
  -> 0A000101:0050      Masq    7      1          2
  -> 0A000102:0050      Route   1      0          0
UDP  [2001:0db8:0000:0000:0000:0000:0000:0001]:0035 sh
  -> [2001:0db8:0000:0000:0000:0000:0000:0010]:0035      Masq    1      0          0
FWM  00000007 mh
  -> 0A000301:0000      Tunnel  1      0          0
"""
CONN = """Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP 0A000002 9C40 0A000001 0050 0A000101 0050 ESTABLISHED     899
UDP 2001:0db8:0000:0000:0000:0000:0000:0005 D431 2001:0db8:0000:0000:0000:0000:0000:0001 \
0035 2001:0db8:0000:0000:0000:0000:0000:0010 0035 UDP         299
"""


def test_services():
    tcp, udp, fwm = proc.parse_services(IP_VS)
    assert tcp.key == ServiceKey("tcp", "10.0.0.1", 80) and tcp.persistent
    assert tcp.scheduler == "rr"
    assert tcp.real_servers[0] == proc.ProcRealServer("10.0.1.1", 80, "masq", 7, 1, 2)
    assert tcp.real_servers[1].method == "gate"
    assert udp.key == ServiceKey("udp", "2001:db8::1", 53) and udp.real_servers[0].port == 53
    assert fwm.matches(ServiceKey(fwmark=7, family="inet6"))
    assert fwm.real_servers[0].method == "ipip"


def test_connections():
    tcp, udp = proc.parse_connections(CONN)
    assert (tcp.client, tcp.client_port, tcp.virtual, tcp.real, tcp.state, tcp.expires) == \
        ("10.0.0.2", 40000, "10.0.0.1", "10.0.1.1", "ESTABLISHED", 899)
    assert udp.client == "2001:db8::5" and udp.real == "2001:db8::10" and udp.protocol == "udp"


def test_missing_files(tmp_path):
    assert proc.read_services(tmp_path / "nope") is None
    assert proc.read_connections(tmp_path / "nope") == []
