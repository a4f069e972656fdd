"""tcp and udp checks against real sockets on 127.0.0.1 and ::1."""
from __future__ import annotations

import asyncio
import socket

from lvsocf.checks import Target, build_checker


def check(kind, address, port, options=None, timeout=1.0):
    return asyncio.run(build_checker(kind, Target(address, port), options or {}).check(timeout))


# ---------------------------------------------------------------------------- tcp


def test_tcp_up_v4_and_v6():
    async def main():
        hits = []
        server4 = await asyncio.start_server(lambda r, w: (hits.append(1), w.close()),
                                             "127.0.0.1", 0)
        server6 = await asyncio.start_server(lambda r, w: (hits.append(1), w.close()), "::1", 0)
        async with server4, server6:
            r4 = await build_checker("tcp", Target("127.0.0.1",
                                     server4.sockets[0].getsockname()[1]), {}).check(1)
            r6 = await build_checker("tcp", Target("::1",
                                     server6.sockets[0].getsockname()[1]), {}).check(1)
            await asyncio.sleep(0.05)
        return r4, r6, hits
    r4, r6, hits = asyncio.run(main())
    assert r4.ok and r6.ok, (r4, r6)
    assert len(hits) == 2                  # both connections really reached the servers
    assert 0 <= r4.latency < 1


def test_tcp_down_closed_port(closed_port):
    r = check("tcp", "127.0.0.1", closed_port)
    assert not r.ok and r.detail == "Connection refused"


def test_tcp_down_closed_port_v6():
    with socket.socket(socket.AF_INET6) as s:
        s.bind(("::1", 0))
        port = s.getsockname()[1]
    r = check("tcp", "::1", port)
    assert not r.ok and "refused" in r.detail


def test_tcp_accept_queue_without_accept_is_up(silent_tcp_port):
    # The kernel completes the handshake for a listening socket: that is what tcp checks.
    assert check("tcp", "127.0.0.1", silent_tcp_port).ok


# ---------------------------------------------------------------------------- udp


def test_udp_expect_reply_from_echo(udp_echo_port):
    r = check("udp", "127.0.0.1", udp_echo_port, {"udp_payload": "50494e47",
                                                  "udp_expect": "5049"})
    assert r.ok, r
    assert r.latency < 0.5


def test_udp_expect_v6(udp6_echo_port):
    assert check("udp", "::1", udp6_echo_port, {"udp_payload": "0x01020304",
                                                "udp_expect": "0102"}).ok


def test_udp_expect_mismatch(udp_echo_port):
    r = check("udp", "127.0.0.1", udp_echo_port, {"udp_payload": "50494e47",
                                                  "udp_expect": "504f4e47"})
    assert not r.ok and r.detail == "unexpected reply (4 bytes)"


def test_udp_expect_but_silent_times_out(udp_silent_port):
    r = check("udp", "127.0.0.1", udp_silent_port, {"udp_expect": "00"}, timeout=0.3)
    assert not r.ok and "no reply" in r.detail
    assert 0.25 < r.latency < 1


def test_udp_closed_port_is_down(closed_udp_port):
    r = check("udp", "127.0.0.1", closed_udp_port, {"udp_payload": "00"})
    assert not r.ok and r.detail == "port unreachable"
    r = check("udp", "127.0.0.1", closed_udp_port, {"udp_expect": "00"})
    assert not r.ok and r.detail == "port unreachable"


def test_udp_silent_open_port_is_up_after_the_timeout(udp_silent_port):
    r = check("udp", "127.0.0.1", udp_silent_port, {"udp_payload": "00"}, timeout=0.3)
    assert r.ok and "no port unreachable" in r.detail
    assert r.latency >= 0.25


def test_udp_any_reply_without_expect_is_up_early(udp_echo_port):
    r = check("udp", "127.0.0.1", udp_echo_port, {"udp_payload": "ff"}, timeout=2)
    assert r.ok and r.latency < 1 and r.detail.startswith("reply")
