"""The connection table (/proc/net/ip_vs_conn) and /proc/net/ip_vs, with a real NAT flow."""
import sys
import time

from lvsocf.ipvs import proc
from lvsocf.ipvs.model import RealServer, Service, ServiceKey
from tests.kernel.conftest import ipvsadm

SERVER = """
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.0.1.1", 80)); s.listen()
c, _ = s.accept(); c.sendall(b"hello"); time.sleep(60)
"""
CLIENT = """
import socket, time
c = socket.create_connection(("10.0.0.1", 80), timeout=20)
assert c.recv(5) == b"hello"; print("ok", flush=True); time.sleep(60)
"""


def test_nat_connection_is_listed(k, nat_topology):
    topo, cl, rs = nat_topology
    key = ServiceKey("tcp", "10.0.0.1", 80)
    k.add_service(Service(key, scheduler="rr"))
    k.add_real_server(key, RealServer("10.0.1.1", 80, "masq"))
    topo.spawn(rs, [sys.executable, "-c", SERVER])
    deadline = time.monotonic() + 30
    while "10.0.1.1:80" not in topo.exec(rs, ["ss", "-ltn"]).stdout:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.2)
    import subprocess
    client = topo.spawn(cl, [sys.executable, "-c", CLIENT], stdout=subprocess.PIPE, text=True)
    assert client.stdout.readline().strip() == "ok"
    conns = [c for c in proc.read_connections() if c.state == "ESTABLISHED"]
    assert len(conns) == 1
    c = conns[0]
    assert (c.protocol, c.client, c.virtual, c.virtual_port, c.real, c.real_port) == \
        ("tcp", "10.0.0.2", "10.0.0.1", 80, "10.0.1.1", 80)
    listed = ipvsadm("-Lnc")
    assert f"10.0.0.2:{c.client_port}" in listed and "ESTABLISHED" in listed
    (svc,) = proc.read_services()
    assert svc.key == key and svc.scheduler == "rr"
    assert svc.real_servers[0].active_conns == 1 == k.real_servers(key)[0].active_conns


def test_proc_services_all_kinds(k):
    for svc in (Service(ServiceKey("tcp", "10.0.0.1", 80), persistent=30),
                Service(ServiceKey("udp", "2001:db8::1", 53), scheduler="rr"),
                Service(ServiceKey(fwmark=9, family="inet6"))):
        k.add_service(svc)
    k.add_real_server(ServiceKey("udp", "2001:db8::1", 53), RealServer("2001:db8::2", 53, "masq"))
    parsed = {s.key: s for s in proc.read_services()}
    assert parsed[ServiceKey("tcp", "10.0.0.1", 80)].persistent
    assert parsed[ServiceKey("udp", "2001:db8::1", 53)].real_servers[0].address == "2001:db8::2"
    fwmark = ServiceKey(fwmark=9, family="inet6")
    assert [s.matches(fwmark) for s in parsed.values()].count(True) == 1
