"""check_type=ping: one ICMP/ICMPv6 echo, without forking ping.

Uses an unprivileged ICMP datagram socket (SOCK_DGRAM + IPPROTO_ICMP[V6]; the process gid must
be inside net.ipv4.ping_group_range), else a raw socket (needs CAP_NET_RAW, e.g. root). One
socket per event loop and address family is shared by all ping checks in flight and closed when
none is; replies are matched by identifier, sequence number, source address and a random
payload cookie.
"""
from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import socket
import struct
import weakref
from collections.abc import Mapping
from typing import Any, ClassVar

from .base import (
    CheckFailed,
    CheckResult,
    Target,
    TaskChecker,
    check_address,
    guarded,
    is_ipv6,
)
from .spec.common import NoOptions

ECHO_REQUEST = {socket.AF_INET: 8, socket.AF_INET6: 128}
ECHO_REPLY = {socket.AF_INET: 0, socket.AF_INET6: 129}
PROTO = {socket.AF_INET: socket.IPPROTO_ICMP, socket.AF_INET6: socket.IPPROTO_ICMPV6}
# Which socket types to try, in order; tests narrow this to exercise one path.
SOCKET_TYPES: tuple[str, ...] = ("dgram", "raw")
RCVBUF = 1 << 20        # many replies can land at once; the kernel caps it at net.core.rmem_max
ICMP_FILTER = 1         # linux/icmp.h, level SOL_RAW: bitmask of ICMP types to drop
ICMP6_FILTER = 1        # linux/icmpv6.h, level IPPROTO_ICMPV6: 256-bit mask, set = drop
SOL_RAW = 255


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def open_icmp_socket(family: int) -> tuple[socket.socket, str]:
    """A non-blocking ICMP socket for the family and its type ("dgram" or "raw")."""
    errors = []
    for kind in SOCKET_TYPES:
        sock_type = socket.SOCK_DGRAM if kind == "dgram" else socket.SOCK_RAW
        try:
            sock = socket.socket(family, sock_type, PROTO[family])
        except OSError as exc:
            errors.append(f"{kind}: {exc.strerror or exc}")
            continue
        sock.setblocking(False)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
            if kind == "raw":
                # A raw socket sees every ICMP packet of the host (our own requests on loopback,
                # neighbour discovery...): let the kernel drop all but echo replies.
                reply = ECHO_REPLY[family]
                if family == socket.AF_INET:
                    sock.setsockopt(SOL_RAW, ICMP_FILTER,
                                    struct.pack("=I", ~(1 << reply) & 0xFFFFFFFF))
                else:
                    words = [0xFFFFFFFF] * 8
                    words[reply >> 5] &= ~(1 << (reply & 31))
                    sock.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER,
                                    struct.pack("=8I", *words))
        except OSError:
            pass                # only an optimisation; replies are filtered below anyway
        return sock, kind
    raise CheckFailed("cannot open an ICMP socket (" + "; ".join(errors) + "): put the gid in "
                      "net.ipv4.ping_group_range or grant CAP_NET_RAW")


def _bare(address: str) -> str:
    return address.partition("%")[0]


class _Pinger:
    """The shared socket of one (event loop, family) and the echo requests in flight on it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, family: int) -> None:
        self.loop = loop
        self.family = family
        self.sock, self.mode = open_icmp_socket(family)
        # A datagram socket's identifier is chosen (and filtered on) by the kernel.
        self.ident = secrets.randbits(16) if self.mode == "raw" else None
        self.seq = itertools.count(secrets.randbits(16))
        self.pending: dict[int, tuple[str, bytes, asyncio.Future[None]]] = {}
        loop.add_reader(self.sock.fileno(), self._readable)

    def close(self) -> None:
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()

    async def echo(self, address: str) -> None:
        seq = next(self.seq) & 0xFFFF
        while seq in self.pending:
            seq = next(self.seq) & 0xFFFF
        cookie = os.urandom(8)
        future: asyncio.Future[None] = self.loop.create_future()
        self.pending[seq] = (_bare(address), cookie, future)
        try:
            body = struct.pack("!HH", self.ident or 0, seq) + cookie + b"lvsocf-ping\0"
            packet = struct.pack("!BBH", ECHO_REQUEST[self.family], 0, 0) + body
            if self.family == socket.AF_INET:     # the kernel sums ICMPv6 and ping sockets
                packet = packet[:2] + struct.pack("!H", checksum(packet)) + packet[4:]
            await self.loop.sock_sendto(self.sock, packet, (address, 0))
            await future
        finally:
            del self.pending[seq]

    def _readable(self) -> None:
        while True:
            try:
                data, source = self.sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue        # a queued ICMP error on the socket; keep draining
            if self.mode == "raw" and self.family == socket.AF_INET and data:
                data = data[(data[0] & 0x0F) * 4:]           # strip the IPv4 header
            if len(data) < 16 or data[0] != ECHO_REPLY[self.family]:
                continue
            ident, seq = struct.unpack_from("!HH", data, 4)
            if self.ident is not None and ident != self.ident:
                continue                                     # another process's ping
            entry = self.pending.get(seq)
            if entry is None:
                continue
            address, cookie, future = entry
            if data[8:16] == cookie and _bare(source[0]) == address and not future.done():
                future.set_result(None)


_PINGERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, _Pinger]] = \
    weakref.WeakKeyDictionary()


class PingChecker(TaskChecker):
    kind: ClassVar[str] = "ping"

    def __init__(self, target: Target, options: NoOptions | Mapping[str, Any]) -> None:
        self.address = check_address(target)
        self.family = socket.AF_INET6 if is_ipv6(self.address) else socket.AF_INET

    async def check(self, timeout: float) -> CheckResult:
        return await guarded(self._probe, timeout,
                             timeout_detail=f"no echo reply within {timeout:g}s")

    async def _probe(self) -> str:
        loop = asyncio.get_running_loop()
        pingers = _PINGERS.setdefault(loop, {})
        pinger = pingers.get(self.family)
        if pinger is None:
            pinger = pingers[self.family] = _Pinger(loop, self.family)
        try:
            await pinger.echo(self.address)
        finally:
            if not pinger.pending and pingers.get(self.family) is pinger:
                del pingers[self.family]
                pinger.close()
        return f"echo reply ({pinger.mode} socket)"
