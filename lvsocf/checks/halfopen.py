"""check_type=tcp-half-open: send a SYN; a SYN-ACK is up, a RST is "connection refused".

This node's kernel answers the SYN-ACK with a RST by itself (no socket of ours matches it),
so the real server never completes a connection: nothing reaches its accept() or its logs,
and neither side keeps any state (F5 calls this monitor tcp_half_open). It proves what a tcp
check's connect proves, a listener with room in its queues, for far less work on both sides:
no socket, connect or close per check, two system calls here and no child socket there.

Per event loop and address family one raw TCP socket (CAP_NET_RAW) sends every SYN, and a
classic BPF filter lets only answers to our source ports reach it. Those ports are a block
reserved by binding ordinary TCP sockets to them: bound and never listening, so the kernel's
own connects skip them and incoming segments find no socket. The SYN is resent after 1, 3,
7... s like a connect's, until the check's timeout. No answer at all (host down, port
filtered, accept queue full) is a timeout: ICMP errors are not read.
"""
from __future__ import annotations

import asyncio
import ctypes
import errno
import functools
import ipaddress
import os
import random
import socket
import struct
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from .base import (
    Cancellable,
    CheckResult,
    Done,
    Starter,
    Target,
    awaited,
    check_address,
    check_port,
    describe_error,
    socket_address,
)
from .loop_shared import Deadlines, PerLoop, fail_soon, ignore, report
from .spec.common import NoOptions

PORTS = 64                  # source ports reserved per address family
SOURCE_TTL = 10.0           # seconds a looked-up source address is trusted
FIRST_RESEND = 1.0          # as a connect's SYN: resent after 1 s, then 2 s later, ...
_SYN, _RST, _ACK = 0x02, 0x04, 0x10
_SYN_ACK = _SYN | _ACK
_SYN_WORDS = 0x6002         # data offset 6 words (MSS option), flags SYN
_WINDOW, _MSS_KIND, _MSS = 64240, 0x0204, 1460
_HEADER = struct.Struct("!HHIIHHHHHH")      # sport dport seq ack off/flags win sum urg mss
_REPLY = struct.Struct("!HHII")             # sport dport seq ack
RECEIVE_BUFFER = 8 << 20
SO_ATTACH_FILTER, SO_RCVBUFFORCE = 26, 33


class HalfOpenChecker:
    kind: ClassVar[str] = "tcp-half-open"

    def __init__(self, target: Target, options: NoOptions | Mapping[str, Any]) -> None:
        self.address = check_address(target)
        self.port = check_port(target)
        self.family, self.sockaddr = socket_address(self.address, self.port)
        # The peer as recvfrom() names it: for IPv6 getnameinfo's form (::ffff:10.0.0.1,
        # fe80::1%eth0), not ipaddress's (::ffff:a00:1, fe80::1%2).
        self.peer = (self.address if self.family == socket.AF_INET else
                     socket.getnameinfo(self.sockaddr, socket.NI_NUMERICHOST)[0])
        self.send_to = (self.sockaddr[0], 0, *self.sockaddr[2:])     # raw: no port
        self.fixed_words = self.port + _SYN_WORDS + _WINDOW + _MSS_KIND + _MSS   # of the SYN
        self.pseudo_tail = (ipaddress.ip_address(self.address.partition("%")[0]).packed
                            + struct.pack("!HH", socket.IPPROTO_TCP, _HEADER.size))

    def starter(self) -> Starter:
        try:
            prober = _PROBERS[self.family].get()
        except OSError:
            return functools.partial(_begin, self)      # tries again, and says why, per check
        return functools.partial(prober.begin, self)

    async def check(self, timeout: float) -> CheckResult:
        return await awaited(self.starter(), timeout)

    def release(self) -> None:
        """Nothing is kept between checks (the raw sockets are shared per family)."""

    def route_source(self) -> str:
        """The local address this node's routing picks for the real server (no packet sent)."""
        with socket.socket(self.family, socket.SOCK_DGRAM) as udp:
            udp.connect((self.sockaddr[0], 9, *self.sockaddr[2:]))
            return udp.getsockname()[0].partition("%")[0]


class Probe:
    __slots__ = ("prober", "checker", "key", "seq", "packet", "started", "deadline", "resend",
                 "timeout", "done")

    def __init__(self, prober: Prober | None, checker: HalfOpenChecker, timeout: float,
                 done: Done) -> None:
        self.prober, self.checker, self.timeout, self.done = prober, checker, timeout, done
        self.key: tuple[str, int, int] | None = None
        self.seq = 0
        self.packet = b""
        self.started = time.monotonic()
        self.deadline = self.started + timeout
        self.resend = FIRST_RESEND

    def cancel(self) -> None:
        self.done = ignore
        if self.key is not None and self.prober is not None:
            self.prober.pending.pop(self.key, None)
            self.key = None


class Prober:
    """One raw socket and one reserved port block for the half-open checks of one family."""

    def __init__(self, loop: asyncio.AbstractEventLoop, family: int) -> None:
        self.sock = socket.socket(family, socket.SOCK_RAW | socket.SOCK_NONBLOCK,
                                  socket.IPPROTO_TCP)
        try:
            self.reserved, self.low = _reserve_ports(family)
        except OSError:
            self.sock.close()
            raise
        _attach_answers_filter(self.sock, family, self.low, self.low + PORTS - 1)
        # Every answer waits in this one socket's buffer until the loop reads it; while the
        # engine is busy for a second, thousands can arrive (each ~1 KiB of buffer).
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RECEIVE_BUFFER)
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        self._drain()       # whatever arrived before the filter was attached
        self.pending: dict[tuple[str, int, int], Probe] = {}
        self._pseudo_sums: dict[str, tuple[float, int]] = {}    # peer -> (valid until, sum)
        self._next_port = random.randrange(PORTS)
        self._timeouts: Deadlines[Probe] = Deadlines(self._expire)
        self._ip_header = family == socket.AF_INET     # raw IPv4 reads start at the IP header
        loop.add_reader(self.sock.fileno(), self._ready)

    def begin(self, checker: HalfOpenChecker, timeout: float, done: Done) -> Probe:
        probe = Probe(self, checker, timeout, done)
        try:
            base = self._pseudo_sum(checker, probe.started) + checker.fixed_words
        except OSError as exc:          # no route to the real server
            return fail_soon(probe, describe_error(exc))
        pending = self.pending
        for _ in range(PORTS):          # a port not in flight to this same address and port
            port = self.low + self._next_port
            self._next_port = (self._next_port + 1) % PORTS
            key = (checker.peer, checker.port, port)
            if key not in pending:
                break
        else:
            return fail_soon(probe, f"more than {PORTS} checks in flight to one port")
        seq = random.getrandbits(32)
        total = base + port + (seq >> 16) + (seq & 0xFFFF)
        total = (total & 0xFFFF) + (total >> 16)
        total = (total & 0xFFFF) + (total >> 16)
        probe.packet = _HEADER.pack(port, checker.port, seq, 0, _SYN_WORDS, _WINDOW,
                                    ~total & 0xFFFF, 0, _MSS_KIND, _MSS)
        probe.seq = seq
        try:
            self.sock.sendto(probe.packet, checker.send_to)
        except (BlockingIOError, InterruptedError):
            pass                        # a full send buffer: the resend timer tries again
        except OSError as exc:
            return fail_soon(probe, describe_error(exc))
        probe.key = key
        pending[key] = probe
        self._timeouts.at(min(probe.deadline, probe.started + FIRST_RESEND), probe)
        return probe

    def _pseudo_sum(self, checker: HalfOpenChecker, now: float) -> int:
        """The ones' complement sum of the checker's pseudo-header: with the SYN's fixed words,
        only the source port and the sequence number are added per probe. The source address
        is the one this node's routing picks for the peer, looked up every SOURCE_TTL and
        shared by the checks of one address."""
        until, pseudo = self._pseudo_sums.get(checker.peer, (0.0, 0))
        if now >= until:
            words = ipaddress.ip_address(checker.route_source()).packed + checker.pseudo_tail
            pseudo = sum(struct.unpack(f"!{len(words) // 2}H", words))
            self._pseudo_sums[checker.peer] = (now + SOURCE_TTL, pseudo)
        return pseudo

    def _ready(self) -> None:
        recv, pending, v4 = self.sock.recvfrom, self.pending, self._ip_header
        while True:
            try:
                data, peer = recv(128)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:             # e.g. ICMP errors queued on the socket
                continue
            offset = (data[0] & 0x0F) * 4 if v4 else 0
            if len(data) < offset + 14:
                continue
            sport, dport, _, ack = _REPLY.unpack_from(data, offset)
            probe = pending.get((peer[0], sport, dport))
            if probe is None or ack != (probe.seq + 1) & 0xFFFFFFFF:
                continue                # not ours, or an answer to an earlier SYN
            flags = data[offset + 13]
            if flags & _SYN_ACK == _SYN_ACK:
                self._finish(probe, True, "SYN-ACK")
            elif flags & _RST:
                self._finish(probe, False, os.strerror(errno.ECONNREFUSED))

    def _expire(self, probe: Probe, now: float) -> None:
        if probe.key is None:
            return                      # finished or cancelled
        if now >= probe.deadline:
            self._finish(probe, False, f"timed out after {probe.timeout:g}s")
            return
        try:
            self.sock.sendto(probe.packet, probe.checker.send_to)
        except OSError:
            pass                        # the timeout decides
        probe.resend *= 2
        self._timeouts.at(min(probe.deadline, now + probe.resend), probe)

    def _finish(self, probe: Probe, ok: bool, detail: str) -> None:
        self.pending.pop(probe.key, None)       # type: ignore[arg-type]
        probe.key = None
        report(probe, CheckResult(ok, time.monotonic() - probe.started, detail))

    def _drain(self) -> None:
        while True:
            try:
                self.sock.recv(128)
            except OSError:
                return


def _begin(checker: HalfOpenChecker, timeout: float, done: Done) -> Cancellable:
    try:
        prober = _PROBERS[checker.family].get()
    except OSError as exc:
        detail = describe_error(exc)
        if exc.errno == errno.EPERM:
            detail = "tcp-half-open needs CAP_NET_RAW (run as root)"
        return fail_soon(Probe(None, checker, timeout, done), detail)
    return prober.begin(checker, timeout, done)


def _reserve_ports(family: int) -> tuple[list[socket.socket], int]:
    """PORTS consecutive local ports, held by bound (never listening) TCP sockets, from the
    top half of the ephemeral range."""
    low, high = _ephemeral_range()
    wildcard = "0.0.0.0" if family == socket.AF_INET else "::"
    for _ in range(50):
        first = random.randrange((low + high) // 2, high - PORTS + 1)
        held: list[socket.socket] = []
        try:
            for port in range(first, first + PORTS):
                s = socket.socket(family, socket.SOCK_STREAM)
                held.append(s)
                if family == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.bind((wildcard, port))
            return held, first
        except OSError as exc:
            for s in held:
                s.close()
            if exc.errno != errno.EADDRINUSE:
                raise
    raise OSError(errno.EADDRINUSE, f"no block of {PORTS} free local ports")


def _ephemeral_range() -> tuple[int, int]:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    if high - low < 4 * PORTS:
        low, high = 32768, 60999
    return low, high


def _attach_answers_filter(sock: socket.socket, family: int, low: int, high: int) -> None:
    """SO_ATTACH_FILTER: accept TCP segments to ports low..high that
    carry ACK with SYN or RST (answers to our SYNs), drop everything else. A raw IPv4 socket's
    filter sees the IP header first; an IPv6 one's sees the TCP header."""
    # classic BPF: (code, jump-if-true, jump-if-false, k); jumps skip that many instructions
    ldx_ip_header_length, ldx_zero = 0xB1, 0x01
    ldh_x, ldb_x, jge, jgt, jset, ret = 0x48, 0x50, 0x35, 0x25, 0x45, 0x06
    program = [
        (ldx_ip_header_length if family == socket.AF_INET else ldx_zero, 0, 0, 0),
        (ldh_x, 0, 0, 2),               # A = destination port
        (jge, 0, 5, low),
        (jgt, 4, 0, high),
        (ldb_x, 0, 0, 13),              # A = flags
        (jset, 0, 2, _ACK),
        (jset, 0, 1, _SYN | _RST),
        (ret, 0, 0, 0xFFFF),            # accept
        (ret, 0, 0, 0),                 # drop
    ]
    code = b"".join(struct.pack("HBBI", *insn) for insn in program)
    buf = ctypes.create_string_buffer(code, len(code))      # the kernel copies it
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER,
                    struct.pack("HL", len(program), ctypes.addressof(buf)))


_PROBERS = {family: PerLoop(functools.partial(Prober, family=family))
            for family in (socket.AF_INET, socket.AF_INET6)}
