"""One epoll for many TCP checks: connect, optionally send a request, read until the check
decides. It runs on the caller's asyncio loop (its epoll descriptor is one reader there).

A check may keep its connection for its next request (http's reuse_connection): decide()
returns KeepOpen, and the reactor parks the socket, still in its epoll set, until that check
begins again. Anything the server sends or does to a parked connection (a close, a reset)
closes it. A request on a reused connection that gets no byte of answer, only a close or a
reset, is sent again on a new connection within the same check: the server may close an
idle connection just as the request goes out (RFC 9112, 9.3.1).

Why not asyncio streams: a check through open_connection builds a transport, a protocol, a
reader, a writer, several futures and a task, and changes asyncio's selector several times;
that Python work, not the kernel's, was most of a check's CPU. Here a check is one small
object, edge-triggered registration once, and one callback when it is decided.
"""
from __future__ import annotations

import _socket  # the C socket type: socket.socket adds Python-level __init__/close per check
import asyncio
import errno
import functools
import os
import select
import socket
import struct
import time
from collections.abc import Callable
from typing import Protocol

from .base import CheckFailed, CheckResult, Done, awaited, describe_error
from .loop_shared import Deadlines, PerLoop, fail_soon, ignore, report

_WATCH = select.EPOLLIN | select.EPOLLOUT | select.EPOLLRDHUP | select.EPOLLET
_TROUBLE = select.EPOLLERR | select.EPOLLHUP
_READABLE = select.EPOLLIN | select.EPOLLRDHUP | _TROUBLE
_CLOSING = select.EPOLLRDHUP | _TROUBLE
_CONNECTING, _SENDING, _READING = 0, 1, 2
_STREAM = socket.SOCK_STREAM | socket.SOCK_NONBLOCK
MAX_RESPONSE = 1024 * 1024      # bytes read at most before the check must have decided
_RESET_ON_CLOSE = struct.pack("ii", 1, 0)      # SO_LINGER on with 0 s: close() sends RST


class KeepOpen(str):
    """A success detail from StreamCheck.decide(): the response ended exactly where the data
    does and the server keeps the connection, so the check's next request may use it."""


class StreamCheck(Protocol):
    """What a TCP-based check tells the reactor."""

    family: int
    sockaddr: tuple
    request: bytes | None       # sent once connected; None: connecting is the whole check

    def decide(self, data: bytes, eof: bool) -> str | None:
        """The success detail once `data` suffices (KeepOpen: the connection may carry the
        next request), None to read more; raises CheckFailed. Must not return None when
        `eof`."""
        ...


def verdict(check: StreamCheck, data: bytes, eof: bool) -> str | None:
    """check.decide() with the rules every reader shares: a connection closed before the
    check decided, or a response too large to decide on, is a failure (CheckFailed)."""
    detail = check.decide(data, eof)
    if detail is None:
        if eof:
            raise CheckFailed("connection closed")
        if len(data) > MAX_RESPONSE:
            raise CheckFailed("response too large to check")
    return detail


class OnReactor:
    """starter() and check() of a StreamCheck that runs on the running loop's reactor."""

    def starter(self: StreamCheck) -> Callable[[float, Done], Probe]:
        """Reactor.begin of the running loop, bound to this check (base.check_starter)."""
        return functools.partial(reactor().begin, self)

    async def check(self: StreamCheck, timeout: float) -> CheckResult:
        return await awaited(self.starter(), timeout)

    def release(self: StreamCheck) -> None:
        """Close the connection kept for this check's next request, if there is one."""
        found = _reactors.peek()
        if found is not None:
            found.release(self)


class Probe:
    """One check in flight; cancel() drops it without a callback."""

    __slots__ = ("check", "sock", "phase", "data", "unsent", "started", "timeout", "done",
                 "reactor", "reused")

    def __init__(self, reactor: Reactor, check: StreamCheck, timeout: float, done: Done) -> None:
        self.reactor, self.check, self.timeout, self.done = reactor, check, timeout, done
        self.sock: _socket.socket | None = None
        self.phase = _CONNECTING
        self.data = b""
        self.unsent = check.request
        self.started = time.monotonic()
        self.reused = False         # on a parked connection, not yet answered

    def cancel(self) -> None:
        self.done = ignore          # also drops the caller's references (futures hold the loop)
        if self.sock is not None:
            self.reactor._drop(self)


class Reactor:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._ep = select.epoll()
        self._active: dict[int, Probe] = {}
        self._parked: dict[StreamCheck, _socket.socket] = {}      # kept for the next check
        self._parked_fds: dict[int, StreamCheck] = {}
        self._timeouts: Deadlines[Probe] = Deadlines(self._expire)
        # No reference to the loop is kept: the loop owns the reactor (PerLoop).
        loop.add_reader(self._ep.fileno(), self._ready)

    def begin(self, check: StreamCheck, timeout: float, done: Done) -> Probe:
        """Start one check; `done` is called once with its result, never from inside begin()
        (an immediate failure is reported on the next loop iteration)."""
        probe = Probe(self, check, timeout, done)
        if not (check in self._parked and self._reuse(probe)):
            error = self._connect(probe)
            if error is not None:
                return fail_soon(probe, error)
        self._timeouts.at(probe.started + timeout, probe)
        return probe

    def release(self, check: StreamCheck) -> None:
        """Close `check`'s parked connection, if it has one."""
        sock = self._parked.pop(check, None)
        if sock is not None:
            del self._parked_fds[sock.fileno()]
            sock.close()

    def _connect(self, probe: Probe) -> str | None:
        """A new connection for `probe`; the failure detail if there can be none."""
        check = probe.check
        try:
            sock = _socket.socket(check.family, _STREAM)
        except OSError as exc:
            return describe_error(exc)
        # Ended by RST, not FIN: no TIME_WAIT on the director (thousands of checks a second
        # keep tens of thousands of them) nor on the real server, and fewer segments.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
        if check.request is not None:
            # Linux holds back the handshake's last ACK on a connecting socket with
            # TCP_DEFER_ACCEPT, so it rides on the request: one segment fewer.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 1)
        try:
            err = sock.connect_ex(check.sockaddr)
        except OSError as exc:      # e.g. an unknown IPv6 scope
            sock.close()
            return describe_error(exc)
        if err not in (0, errno.EINPROGRESS):
            sock.close()
            return os.strerror(err)
        probe.sock = sock
        fd = sock.fileno()
        self._active[fd] = probe
        self._ep.register(fd, _WATCH)
        return None

    def _reuse(self, probe: Probe) -> bool:
        """Send `probe`'s request on its check's parked connection; False if that is gone."""
        sock = self._parked.pop(probe.check)
        fd = sock.fileno()
        del self._parked_fds[fd]
        try:
            sent = sock.send(probe.unsent)
        except OSError:
            sock.close()
            return False
        probe.sock, probe.reused = sock, True
        probe.unsent = probe.unsent[sent:]
        probe.phase = _SENDING if probe.unsent else _READING
        self._active[fd] = probe        # still registered: the answer is the next edge
        return True

    def _reconnect(self, probe: Probe) -> None:
        """The reused connection closed before any answer: the same request, new connection."""
        self._drop(probe)
        probe.reused, probe.phase, probe.unsent = False, _CONNECTING, probe.check.request
        error = self._connect(probe)
        if error is not None:
            self._finish(probe, False, error)

    # -- events
    def _ready(self) -> None:
        for fd, events in self._ep.poll(0, 1024):
            probe = self._active.get(fd)
            if probe is not None:
                self._advance(probe, events)
            elif events & _READABLE and fd in self._parked_fds:
                self.release(self._parked_fds[fd])      # closed, reset, or unasked-for data

    def _advance(self, probe: Probe, events: int) -> None:
        sock = probe.sock
        assert sock is not None
        if probe.phase == _CONNECTING:
            if events & _TROUBLE:
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    return self._finish(probe, False, os.strerror(err))
            elif not events & select.EPOLLOUT:
                return None
            if probe.unsent is None:
                return self._finish(probe, True, "connected")
            probe.phase = _SENDING
        if probe.phase == _SENDING:
            try:
                sent = sock.send(probe.unsent)
            except BlockingIOError:
                return None
            except OSError as exc:
                if probe.reused:
                    return self._reconnect(probe)
                return self._finish(probe, False, describe_error(exc))
            probe.unsent = probe.unsent[sent:]
            if probe.unsent:
                return None         # the next EPOLLOUT edge sends the rest
            probe.phase = _READING
            if not events & _READABLE:
                return None
        self._read(probe, sock, closing=bool(events & _CLOSING))

    def _read(self, probe: Probe, sock: _socket.socket, closing: bool) -> None:
        while True:
            try:
                chunk = sock.recv(65536)
            except BlockingIOError:
                return
            except OSError as exc:
                if probe.reused and not probe.data:
                    return self._reconnect(probe)
                return self._finish(probe, False, describe_error(exc))
            if not chunk and probe.reused and not probe.data:
                return self._reconnect(probe)
            probe.data += chunk
            try:
                detail = verdict(probe.check, probe.data, eof=not chunk)
            except CheckFailed as exc:
                return self._finish(probe, False, str(exc))
            except Exception as exc:  # noqa: BLE001 - a check must never raise
                return self._finish(probe, False, describe_error(exc))
            if detail is not None:
                if closing and type(detail) is KeepOpen:
                    detail = str(detail)        # the server is closing: nothing to keep
                return self._finish(probe, True, detail)

    def _expire(self, probe: Probe, now: float) -> None:
        if probe.sock is not None:
            self._finish(probe, False, f"timed out after {probe.timeout:g}s")

    # -- endings
    def _finish(self, probe: Probe, ok: bool, detail: str) -> None:
        result = CheckResult(ok, time.monotonic() - probe.started, str(detail))
        if type(detail) is KeepOpen:
            self._park(probe)
        else:
            self._drop(probe)
        report(probe, result)

    def _park(self, probe: Probe) -> None:
        sock, probe.sock = probe.sock, None
        assert sock is not None
        fd = sock.fileno()
        del self._active[fd]
        self.release(probe.check)       # one parked connection per check at most
        self._parked[probe.check] = sock
        self._parked_fds[fd] = probe.check

    def _drop(self, probe: Probe) -> None:
        sock, probe.sock = probe.sock, None
        if sock is not None:
            self._active.pop(sock.fileno(), None)
            sock.close()            # RST (see _connect); also leaves the epoll set


_reactors: PerLoop[Reactor] = PerLoop(Reactor)
reactor: Callable[[], Reactor] = _reactors.get     # the running loop's reactor
