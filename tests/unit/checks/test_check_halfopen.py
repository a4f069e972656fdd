"""tcp-half-open against real listeners on 127.0.0.1 and ::1 (needs root: a raw socket).

The wire test (test_check_wire.py) shows what goes between two namespaces; here: verdicts,
timeouts with resent SYNs, many checks in flight, the SYN's checksum, and no CAP_NET_RAW.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
import subprocess
import sys
import textwrap

import pytest

from lvsocf.checks import Target, build_checker, halfopen

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="a raw socket needs root")


@contextlib.contextmanager
def listening(host: str = "127.0.0.1", backlog: int = 16):
    """A listener that never accepts, and a tcp-half-open checker of it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as listener:
        listener.bind((host, 0))
        listener.listen(backlog)
        yield listener, build_checker("tcp-half-open",
                                      Target(host, listener.getsockname()[1]), {})


def check(address: str, port: int, timeout: float = 1.0):
    return asyncio.run(build_checker("tcp-half-open", Target(address, port), {}).check(timeout))


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_listening_port_is_up_and_never_gets_a_connection(host):
    with listening(host) as (listener, checker):
        listener.setblocking(False)
        r = asyncio.run(checker.check(1))
        with pytest.raises(BlockingIOError):
            listener.accept()               # the handshake was never completed
    assert r.ok and r.detail == "SYN-ACK", r
    assert 0 <= r.latency < 1


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_closed_port_is_refused(host):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.bind((host, 0))
        port = s.getsockname()[1]
    r = check(host, port)
    assert not r.ok and r.detail == "Connection refused", r


def test_full_accept_queue_times_out_after_resending_the_syn():
    # A listener whose accept queue is full drops SYNs: no answer at all.
    with listening(backlog=0) as (listener, checker):
        fillers = []
        for _ in range(3):
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(listener.getsockname())
            fillers.append(c)
        sent = []

        async def main():
            prober = halfopen._PROBERS[socket.AF_INET].get()
            real_send = prober.sock

            class Counting:
                def __getattr__(self, name):
                    return getattr(real_send, name)

                def sendto(self, data, to):
                    sent.append(data)
                    return real_send.sendto(data, to)
            prober.sock = Counting()
            try:
                return await checker.check(1.5)
            finally:
                prober.sock = real_send
        r = asyncio.run(main())
        for c in fillers:
            c.close()
    assert not r.ok and r.detail == "timed out after 1.5s", r
    assert 1.5 <= r.latency < 2.0
    assert len(sent) == 2 and sent[0] == sent[1]       # the SYN, and once more after 1 s


def test_many_checks_in_flight_to_one_port_all_get_their_answer():
    async def main():
        with listening() as (_, checker):
            return await asyncio.gather(*(checker.check(2) for _ in range(halfopen.PORTS)),
                                        checker.check(2))
    *results, one_too_many = asyncio.run(main())
    assert all(r.ok for r in results), [r for r in results if not r.ok][:3]
    assert not one_too_many.ok and "in flight" in one_too_many.detail


def test_cancelled_check_never_reports():
    async def main():
        with listening() as (_, checker):
            got = []
            probe = checker.starter()(2, got.append)
            probe.cancel()
            await asyncio.sleep(0.2)
            return got, halfopen._PROBERS[socket.AF_INET].get().pending
    got, pending = asyncio.run(main())
    assert got == [] and pending == {}


def ones_complement_sum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


@pytest.mark.parametrize("source,dest", [("10.1.0.254", "10.1.0.1"), ("::1", "::1"),
                                         ("192.0.2.200", "198.51.100.7")])
def test_syn_checksum_covers_the_pseudo_header(source, dest):
    """Loopback and veth do not verify checksums; a real NIC's peer does. Checked here the
    textbook way: the sum over pseudo-header and segment must be all ones."""
    checker = build_checker("tcp-half-open", Target(dest, 8080), {})
    checker.route_source = lambda: source
    prober = object.__new__(halfopen.Prober)     # no socket: only the packet is looked at
    prober.low, prober._next_port, prober.pending, prober._pseudo_sums = 40000, 3, {}, {}
    packets = []
    prober.sock = type("Sink", (), {"sendto": lambda self, data, to: packets.append(data)})()
    prober._timeouts = type("NoTimer", (), {"at": lambda self, when, item: None})()
    for _ in range(200):
        prober.pending.clear()
        prober.begin(checker, 1.0, lambda r: None)
    assert len(packets) == 200
    for packet in packets:
        assert ones_complement_sum(_pseudo(source, dest) + packet) == 0xFFFF
        sport, dport, _, ack, offset_flags = struct.unpack_from("!HHIIH", packet)
        assert dport == 8080 and 40000 <= sport < 40000 + halfopen.PORTS and ack == 0
        assert offset_flags == 0x6002 and len(packet) == 24


def _pseudo(source: str, dest: str) -> bytes:
    import ipaddress

    return (ipaddress.ip_address(source).packed + ipaddress.ip_address(dest).packed
            + struct.pack("!HH", socket.IPPROTO_TCP, 24))


def test_without_cap_net_raw_the_check_fails_saying_why(tmp_path):
    script = textwrap.dedent("""
        import asyncio
        from lvsocf.checks import Target, build_checker
        r = asyncio.run(build_checker("tcp-half-open", Target("127.0.0.1", 9), {}).check(1))
        print(r.ok, r.detail)
    """)
    proc = subprocess.run(["setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw",
                           sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=30, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False tcp-half-open needs CAP_NET_RAW (run as root)"
