"""Engine test helpers: an in-memory IPVS table that executes the engine's netlink ops,
records written like the agent writes them, and real local TCP/HTTP servers."""
from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path

from lvsocf import state
from lvsocf.ipvs import errors
from lvsocf.ipvs.model import RealServer, RealServerInfo, ServiceKey
from lvsocf.ipvs.op import Op, OpKind
from lvsocf.records import CheckSpec, RealServerRecord

KEY = ServiceKey("tcp", "10.0.0.1", 80)


class FakeKernel:
    """The IPVS table as a dict, changed only through the same typed Op objects the kernel
    gets (read through their public fields)."""

    def __init__(self) -> None:
        self.table: dict[ServiceKey, dict[tuple[str, int], RealServer]] = {}
        self.applied: list[Op] = []
        self.reads = 0
        self.closed = False
        self.conns: dict[tuple[str, int], int] = {}    # active connections by entry

    def add_service(self, key: ServiceKey) -> None:
        self.table.setdefault(key, {})

    def put(self, key: ServiceKey, rs: RealServer) -> None:
        self.table[key][rs.ident] = rs

    def weights(self, key: ServiceKey = KEY) -> dict[str, int]:
        return {f"{a}:{p}": rs.weight for (a, p), rs in self.table.get(key, {}).items()}

    def real_servers(self, key: ServiceKey, stats: bool = True) -> list[RealServerInfo]:
        self.reads += 1
        if key not in self.table:
            raise errors.NotFound(f"real servers of {key}: not found")
        return [RealServerInfo(rs, self.conns.get(rs.ident, 0))
                for rs in self.table[key].values()]

    def apply(self, ops) -> list[errors.IpvsError | None]:
        return [self._one(op) for op in ops]

    def _one(self, op: Op) -> errors.IpvsError | None:
        self.applied.append(op)
        entries = self.table.get(op.key)
        if entries is None:
            return errors.NotFound(f"{op.what}: not found")
        ident = op.server.ident
        if op.kind is OpKind.DELETE_REAL_SERVER:
            if ident not in entries:
                return errors.NotFound(f"{op.what}: not found")
            del entries[ident]
            return None
        if op.kind is OpKind.ADD_REAL_SERVER and ident in entries:
            return errors.Exists(f"{op.what}: already exists")
        if op.kind is OpKind.EDIT_REAL_SERVER and ident not in entries:
            return errors.NotFound(f"{op.what}: not found")
        entries[ident] = op.server
        return None

    def close(self) -> None:
        self.closed = True


def record(address: str = "127.0.0.1", port: int = 80, *, kind: str = "tcp",
           options: dict | None = None, weight: int = 5, interval: float = 0.05,
           timeout: float = 0.5, rise: int = 2, fall: int = 2,
           failure_action: str = "quiescent", initial_weight: int | None = None,
           key: ServiceKey = KEY, method: str = "masq", draining: float | None = None,
           slow_start: float = 0.0) -> dict:
    """A `realservers` record as IPVSRealServer writes it (lvsocf.records)."""
    return RealServerRecord(
        key, RealServer(address, port, method, weight),
        CheckSpec(kind, tuple(sorted((options or {}).items())), interval, timeout, rise, fall),
        failure_action, initial_weight, draining=draining, slow_start=slow_start).to_json()


def register(name: str, data: dict) -> None:
    state.write("realservers", name, data)


def wait(predicate, timeout: float = 15.0, what: str = "") -> None:
    """Blocking until() for tests that drive engine processes."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what or predicate}"
        time.sleep(0.02)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes (the engine is nobody's child: init reaps it)
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


async def until(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.01)


class Backend:
    """A real TCP (or minimal HTTP) server on 127.0.0.1 that can be stopped and started again
    on the same port. `hits` counts connections, `requests` HTTP requests, `open` the
    connections it holds; with `keep_alive` it answers requests until the client closes."""

    def __init__(self, http: bool = False, status: int = 200, keep_alive: bool = False) -> None:
        self.http = http
        self.status = status
        self.keep_alive = keep_alive
        self.port = 0
        self.hits = self.requests = self.open = 0
        self._server: asyncio.base_events.Server | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.hits += 1
        self.open += 1
        closing = "" if self.keep_alive else "Connection: close\r\n"
        try:
            while self.http:
                await reader.readuntil(b"\r\n\r\n")
                self.requests += 1
                body = b"ok"
                writer.write(f"HTTP/1.1 {self.status} X\r\nContent-Length: {len(body)}\r\n"
                             f"{closing}\r\n".encode() + body)
                await writer.drain()
                if not self.keep_alive:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open -= 1
            writer.close()

    async def start(self) -> Backend:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port,
                                                  reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
