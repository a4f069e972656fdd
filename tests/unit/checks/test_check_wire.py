"""What tcp and http checks put on the wire, counted by the kernel of the checking side.

The checker runs in a network namespace of its own, the server in another one behind a veth
pair, so /proc/net/snmp of the checker's namespace counts only the checker's segments:
- tcp: SYN, the handshake's ACK, RST. A full handshake (the server really accepts), then a
  reset instead of FIN/ACK/FIN/ACK: no TIME_WAIT on the director, none on the real server.
- http: SYN, the request carrying the handshake's ACK, RST.
- tcp-half-open: a SYN from the raw socket (not a TCP segment of this kernel's), and the
  kernel's own RST answering the SYN-ACK; the server never gets a connection to accept and
  keeps no half-open one either.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

SERVER = textwrap.dedent("""
    import json, socket, subprocess, sys, time
    print("unshared", flush=True)           # the veth's peer may be moved here now
    def ip(*args):
        subprocess.run(["ip", *args], check=True)
    while subprocess.run(["ip", "link", "show", "v1"], capture_output=True).returncode:
        time.sleep(0.01)
    ip("link", "set", "lo", "up")
    ip("addr", "add", "10.9.0.1/24", "dev", "v1")
    ip("link", "set", "v1", "up")
    listeners = {}
    for port in (80, 81, 82):
        s = socket.socket()
        s.bind(("10.9.0.1", port))
        s.listen()
        listeners[port] = s
    print("ready", flush=True)
    held = []
    for port in (80, 81):                   # accept one connection each, answer nothing
        conn, _ = listeners[port].accept()
        held.append(conn)
        if port == 81:
            conn.settimeout(2)
            print(json.dumps(conn.recv(4096).decode()), flush=True)
    sys.stdin.read()                        # until the checker's side is done
    listeners[82].setblocking(False)
    try:
        listeners[82].accept()
        accepted = True
    except BlockingIOError:
        accepted = False
    half_open = subprocess.run(["ss", "-Htan", "state", "syn-recv"], capture_output=True,
                               text=True, check=True).stdout.splitlines()
    print(json.dumps({"accepted": accepted, "syn_recv": len(half_open)}), flush=True)
""")

CHECKER = textwrap.dedent("""
    import asyncio, json, subprocess, sys, time
    from lvsocf.checks import Target, build_checker

    def ip(*args):
        subprocess.run(["ip", *args], check=True)

    def counters():
        lines = [l.split() for l in open("/proc/net/snmp") if l.startswith("Tcp:")]
        row = dict(zip(lines[0][1:], map(int, lines[1][1:])))
        return {"segs": row["OutSegs"], "rsts": row["OutRsts"]}

    def time_wait():
        out = subprocess.run(["ss", "-Htan", "state", "time-wait"], capture_output=True,
                             text=True, check=True).stdout
        return len(out.splitlines())

    server = subprocess.Popen(["unshare", "--net", "--", sys.executable, "-c", sys.argv[1]],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert server.stdout.readline().strip() == "unshared"
    ip("link", "add", "v0", "type", "veth", "peer", "name", "v1", "netns", str(server.pid))
    ip("link", "set", "lo", "up")
    ip("addr", "add", "10.9.0.2/24", "dev", "v0")
    ip("link", "set", "v0", "up")
    assert server.stdout.readline().strip() == "ready"
    out = {}
    for name, kind, port, timeout in (("tcp", "tcp", 80, 2.0), ("http", "http", 81, 0.5),
                                      ("half_open", "tcp-half-open", 82, 2.0)):
        before = counters()
        result = asyncio.run(build_checker(kind, Target("10.9.0.1", port), {}).check(timeout))
        if kind == "http":
            out["request_seen"] = json.loads(server.stdout.readline())
        time.sleep(0.3)                 # late segments (a delayed ACK) would be counted too
        after = counters()
        out[name] = {"ok": result.ok, "detail": result.detail,
                     **{k: after[k] - before[k] for k in before}}
    out["time_wait"] = time_wait()
    server.stdin.close()
    out["server_after"] = json.loads(server.stdout.readline())
    server.wait(5)
    print(json.dumps(out))
""")


@pytest.fixture(scope="module")
def wire():
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ss"):
        pytest.skip("needs root, unshare(1) and ss(8) for private network namespaces")
    proc = subprocess.run(["unshare", "--net", "--", sys.executable, "-c", CHECKER, SERVER],
                          capture_output=True, text=True, timeout=30,
                          env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_tcp_check_is_a_full_handshake_closed_by_one_reset(wire):
    assert wire["tcp"]["ok"] and wire["tcp"]["detail"] == "connected"
    assert wire["tcp"]["segs"] == 3         # SYN, ACK, RST
    assert wire["tcp"]["rsts"] == 1


def test_http_request_carries_the_handshake_ack(wire):
    assert not wire["http"]["ok"] and wire["http"]["detail"] == "timed out after 0.5s"
    assert wire["request_seen"].startswith("GET / HTTP/1.1\r\n")
    assert wire["http"]["segs"] == 3        # SYN, request + ACK, RST at the timeout
    assert wire["http"]["rsts"] == 1


def test_checks_leave_no_time_wait_on_the_director(wire):
    assert wire["time_wait"] == 0


def test_half_open_check_leaves_the_server_no_connection(wire):
    assert wire["half_open"]["ok"] and wire["half_open"]["detail"] == "SYN-ACK"
    assert wire["half_open"]["rsts"] == 1       # this kernel's answer to the SYN-ACK
    assert wire["half_open"]["segs"] == 1       # that RST; the SYN went out raw
    assert wire["server_after"] == {"accepted": False, "syn_recv": 0}
