"""http reuse_connection against a real keep-alive server on loopback, which counts the
connections and requests it sees (the independent reader): one connection carries many
checks, and every way a kept connection can go wrong ends in a new one, never in a wrong
verdict or a leaked descriptor."""
from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Callable

import pytest

from lvsocf.checks import CheckConfigError, Target, build_checker
from lvsocf.checks.base import release

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class KeepAliveServer:
    """Answers each request with what `answer(n)` says for the n-th request overall: bytes to
    send, or None to close the connection without answering. Closes after the answer when
    `close_after` is set (an idle timeout of that many seconds, 0: at once)."""

    def __init__(self, answer: Callable[[int], bytes | None] = lambda n: OK,
                 close_after: float | None = None) -> None:
        self.answer = answer
        self.close_after = close_after
        self.connections = self.requests = self.open = 0
        self.writers: list[asyncio.StreamWriter] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        self.writers.append(writer)
        try:
            while True:
                try:
                    if self.close_after is None:
                        await reader.readuntil(b"\r\n\r\n")
                    else:
                        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.close_after
                                               + 5)
                except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
                    return
                self.requests += 1
                reply = self.answer(self.requests)
                if reply is None:
                    return
                writer.write(reply)
                await writer.drain()
                if self.close_after is not None:
                    await asyncio.sleep(self.close_after)
                    return
        finally:
            self.open -= 1
            writer.close()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]


def open_fds() -> int:
    gc.collect()
    return len(os.listdir("/proc/self/fd"))


def run(server: KeepAliveServer, scenario) -> object:
    async def main():
        port = await server.start()
        async with server.server:
            checker = build_checker("http", Target("127.0.0.1", port),
                                    {"reuse_connection": "true"})
            try:
                return await scenario(checker)
            finally:
                release(checker)
                await asyncio.sleep(0.05)       # the server sees the close
    return asyncio.run(main())


async def checks(checker, count: int, pause: float = 0.0) -> list:
    results = []
    for _ in range(count):
        results.append(await checker.check(2))
        await asyncio.sleep(pause)
    return results


def test_one_connection_carries_every_check():
    server = KeepAliveServer()
    results = run(server, lambda c: checks(c, 10))
    assert [r.detail for r in results] == ["status 200"] * 10
    assert (server.connections, server.requests, server.open) == (1, 10, 0)


def test_without_the_option_every_check_is_a_new_connection():
    server = KeepAliveServer()

    async def main():
        port = await server.start()
        async with server.server:
            checker = build_checker("http", Target("127.0.0.1", port), {})
            return await checks(checker, 4)
    assert all(r.ok for r in asyncio.run(main()))
    assert (server.connections, server.requests) == (4, 4)


@pytest.mark.parametrize("reply", [
    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nok",           # a byte too many
    b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n",           # a failed check
], ids=["connection-close", "http-1.0", "trailing-byte", "failure"])
def test_a_connection_is_kept_only_when_the_response_allows_it(reply):
    server = KeepAliveServer(lambda n: reply)
    results = run(server, lambda c: checks(c, 3))
    assert all(r.ok == (b" 200 " in reply) for r in results)
    assert (server.connections, server.requests) == (3, 3)


def test_a_server_that_closes_idle_connections_costs_nothing_but_a_new_connection():
    server = KeepAliveServer(close_after=0.05)
    results = run(server, lambda c: checks(c, 3, pause=0.2))
    assert all(r.ok for r in results)
    assert (server.connections, server.requests) == (3, 3)


def test_a_request_lost_to_the_servers_close_is_sent_again_on_a_new_connection():
    # Every 2nd request: the server closes instead of answering (its idle timeout won the
    # race). The check still succeeds, on a new connection, within its own timeout.
    server = KeepAliveServer(lambda n: None if n % 2 == 0 else OK)
    results = run(server, lambda c: checks(c, 3))
    assert [r.ok for r in results] == [True, True, True]
    # 1: ok | 2: closed, sent again as 3 on a new connection: ok | 4: closed, 5: ok
    assert (server.connections, server.requests) == (3, 5)


def test_a_new_connection_that_closes_is_a_failure_not_a_retry():
    server = KeepAliveServer(lambda n: None)
    results = run(server, lambda c: checks(c, 2))
    assert [r.ok for r in results] == [False, False]
    assert "closed" in results[0].detail
    assert (server.connections, server.requests) == (2, 2)


def test_a_reused_connection_that_stops_answering_times_out_and_is_closed():
    server = KeepAliveServer(lambda n: OK if n == 1 else b"")

    async def scenario(checker):
        first = await checker.check(2)
        second = await checker.check(0.3)
        await asyncio.sleep(0.05)
        return first, second, server.open
    first, second, still_open = run(server, scenario)
    assert first.ok and not second.ok and "timed out" in second.detail
    assert still_open == 0 and server.connections == 1


def test_unasked_for_bytes_on_a_kept_connection_close_it():
    server = KeepAliveServer()

    async def scenario(checker):
        first = await checker.check(2)
        server.writers[0].write(OK)         # nobody asked
        await asyncio.sleep(0.1)
        open_after_push = server.open
        second = await checker.check(2)
        return first, second, open_after_push
    first, second, open_after_push = run(server, scenario)
    assert first.ok and second.ok and open_after_push == 0
    assert (server.connections, server.requests) == (2, 2)


def test_release_closes_the_kept_connection_and_leaves_no_descriptor():
    server = KeepAliveServer()

    async def scenario(checker):
        await checks(checker, 1)        # the loop's reactor (its epoll) exists from here on
        release(checker)
        await asyncio.sleep(0.05)
        before = open_fds()
        await checks(checker, 2)
        kept = server.open
        release(checker)
        await asyncio.sleep(0.05)
        return kept, server.open, open_fds() - before
    kept, after, leaked = run(server, scenario)
    assert (kept, after, leaked) == (1, 0, 0)


def test_https_refuses_the_option():
    with pytest.raises(CheckConfigError, match="reuse_connection: only for check_type=http"):
        build_checker("https", Target("127.0.0.1", 443), {"reuse_connection": "true"})
