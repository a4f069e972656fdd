"""The epoll reactor under the tcp and http checks: pieces, cancellation, immediate failures,
timeouts, callbacks that raise, and no descriptor left behind."""
from __future__ import annotations

import asyncio
import gc
import os

from lvsocf.checks import CheckResult, Target, build_checker
from lvsocf.checks.base import begin_check
from lvsocf.checks.streams import reactor

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello there"


def open_fds() -> int:
    gc.collect()        # earlier tests' event loops (and their epoll descriptors) go now
    return len(os.listdir("/proc/self/fd"))


class DripServer:
    """Answers one request a byte at a time (every byte is its own segment) and counts the
    connections it still holds (so a test can tell its sockets from the checker's)."""

    def __init__(self, pause: float) -> None:
        self.pause = pause
        self.open = 0

    async def answer(self, reader, writer) -> None:
        self.open += 1
        try:
            await reader.readuntil(b"\r\n\r\n")
            for i in range(len(RESPONSE)):
                writer.write(RESPONSE[i:i + 1])
                await writer.drain()
                await asyncio.sleep(self.pause)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass            # a tcp check (connect, close), or the checker had read enough
        finally:
            writer.close()
            self.open -= 1


async def drip_server(pause: float = 0.01):
    drip = DripServer(pause)
    server = await asyncio.start_server(drip.answer, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], drip


def test_a_response_in_one_byte_pieces_is_read_to_the_end():
    async def main():
        server, port, _ = await drip_server()
        async with server:
            checker = build_checker("http", Target("127.0.0.1", port), {"receive": "there$"})
            return await checker.check(3)
    r = asyncio.run(main())
    assert r.ok and r.detail == "status 200" and r.latency > 0.1


def test_many_checks_in_flight_each_report_once_and_leave_no_descriptor():
    async def main():
        server, port, drip = await drip_server(0.001)
        async with server:
            checkers = [build_checker(kind, Target("127.0.0.1", port), {})
                        for kind in ("http", "tcp") * 100]
            reactor()       # its epoll descriptor is the loop's, not a check's
            before = open_fds()
            results: list[list[CheckResult]] = [[] for _ in checkers]
            for checker, got in zip(checkers, results, strict=True):
                begin_check(checker, 5, got.append)
            while any(not got for got in results) or drip.open:
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.05)
            return results, before, open_fds()
    results, before, after = asyncio.run(main())
    assert all(len(got) == 1 and got[0].ok for got in results), results
    assert after == before


def test_cancelled_check_never_reports_and_closes_its_socket():
    async def main():
        closed = asyncio.Event()

        async def hold(reader, writer):
            try:
                await reader.read()               # the checker's close: a reset (RST)
            except ConnectionResetError:
                pass
            closed.set()
        server = await asyncio.start_server(hold, "127.0.0.1", 0)
        async with server:
            checker = build_checker("http", Target("127.0.0.1", server.sockets[0].getsockname()[1]),
                                    {})
            got: list[CheckResult] = []
            probe = begin_check(checker, 1, got.append)
            await asyncio.sleep(0.1)              # connected, request sent, no answer
            probe.cancel()
            await asyncio.wait_for(closed.wait(), 2)
            await asyncio.sleep(1.2)              # past its timeout: still nothing reported
            return got
    assert asyncio.run(main()) == []


def test_an_immediate_failure_is_reported_later_not_inside_begin():
    async def main():
        checker = build_checker("tcp", Target("fe80::1%nosuchif0", 80), {})
        got: list[CheckResult] = []
        begin_check(checker, 1, got.append)
        inside = list(got)
        await asyncio.sleep(0.01)
        return inside, got
    inside, got = asyncio.run(main())
    assert inside == [] and len(got) == 1 and not got[0].ok and got[0].detail


def test_timeouts_end_the_checks_and_empty_the_reactor(silent_tcp_port):
    async def main():
        checkers = [build_checker("http", Target("127.0.0.1", silent_tcp_port), {})
                    for _ in range(20)]
        results = await asyncio.gather(*(c.check(0.2 + i / 100) for i, c in
                                         enumerate(checkers)))
        return results, len(reactor()._active)
    results, active = asyncio.run(main())
    assert active == 0
    for i, r in enumerate(results):
        assert not r.ok and r.detail == f"timed out after {0.2 + i / 100:g}s"
        assert 0.2 + i / 100 <= r.latency < 0.2 + i / 100 + 0.5


def test_a_callback_that_raises_does_not_stop_the_others(http_port, caplog):
    async def main():
        got: list[CheckResult] = []

        def explode(result: CheckResult) -> None:
            raise RuntimeError("boom")
        for i in range(10):
            checker = build_checker("http", Target("127.0.0.1", http_port), {})
            begin_check(checker, 2, explode if i % 2 else got.append)
        while len(got) < 5:
            await asyncio.sleep(0.02)
        return got
    got = asyncio.run(main())
    assert all(r.ok for r in got)
    assert "boom" in caplog.text
