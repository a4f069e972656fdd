"""SIP over UDP through IPVSService's pe=sip (the kernel's SIP persistence engine) with
one-packet scheduling: from ONE client socket, two calls with different Call-IDs go to
different real servers (rr), and every datagram of a call goes to its call's real server.
Counted at the real servers, which log each datagram's address and Call-ID."""
import json
import subprocess
import sys
import time

from tests.kernel.conftest import ipvsadm, saved

RECEIVER = r"""
import json, select, socket, sys
socks = []
for address in sys.argv[1:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((address, 5060))
    socks.append(s)
print("ready", flush=True)
while True:
    for s in select.select(socks, [], [])[0]:
        data = s.recv(4096)
        call = next((line.split(b":", 1)[1].strip().decode() for line in data.split(b"\r\n")
                     if line.lower().startswith(b"call-id:")), "")
        print(json.dumps([s.getsockname()[0], call]), flush=True)
"""

CALLER = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.0.0.2", 5062))
for cseq in range(1, 4):
    for call in sys.argv[1:]:
        s.sendto((f"INVITE sip:bob@10.0.0.1 SIP/2.0\r\n"
                  f"Via: SIP/2.0/UDP 10.0.0.2:5062;branch=z9hG4bK{call}{cseq}\r\n"
                  f"From: <sip:alice@10.0.0.2>;tag={call}\r\nTo: <sip:bob@10.0.0.1>\r\n"
                  f"Call-ID: {call}@10.0.0.2\r\nCSeq: {cseq} INVITE\r\n"
                  f"Content-Length: 0\r\n\r\n").encode(), ("10.0.0.1", 5060))
        time.sleep(0.05)
"""

CALLS = ("call-a", "call-b")
SIP = {"vip": "10.0.0.1", "port": 5060, "protocol": "udp", "scheduler": "rr",
       "persistent": 30, "pe": "sip", "ops": "true"}


def test_each_call_on_one_real_server_chosen_by_call_id(nat_topology, agent_factory):
    topo, cl, rs = nat_topology
    topo.address(rs, "eth0", "10.0.1.2/24")
    service = agent_factory("IPVSService")
    done = service("start", instance="sip", **SIP)
    assert done.returncode == 0, done.stderr
    for rip in ("10.0.1.1", "10.0.1.2"):
        ipvsadm("-a", "-u", "10.0.0.1:5060", "-r", f"{rip}:5060", "-m")
    rule = next(line for line in saved() if line.startswith("-A -u 10.0.0.1:5060"))
    assert {"-p", "30", "--pe", "sip", "-o"} <= set(rule.split()), rule

    receiver = topo.spawn(rs, [sys.executable, "-c", RECEIVER, "10.0.1.1", "10.0.1.2"],
                          stdout=subprocess.PIPE, text=True)
    assert receiver.stdout.readline().strip() == "ready"
    topo.exec(cl, [sys.executable, "-c", CALLER, *CALLS])
    time.sleep(3)                     # the receiver logs each datagram as it comes
    receiver.kill()
    seen = [tuple(json.loads(line)) for line in receiver.communicate()[0].splitlines()]

    servers = {call: {server for server, got in seen if got == f"{call}@10.0.0.2"}
               for call in CALLS}
    assert len(seen) == 3 * len(CALLS), seen
    assert all(len(where) == 1 for where in servers.values()), servers
    assert servers["call-a"] != servers["call-b"], f"both calls on one server: {servers}"
    assert service("stop", instance="sip", **SIP).returncode == 0
