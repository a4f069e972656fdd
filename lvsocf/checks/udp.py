"""check_type=udp: send udp_payload (hex) from a connected UDP socket.

With udp_expect (hex) a reply starting with those bytes is required. Without it, the check
succeeds unless an ICMP port unreachable (ECONNREFUSED on the connected socket) arrives within
the timeout, so it takes the whole timeout when the server stays silent (any reply ends it
early). Remote hosts rate-limit ICMP errors: a silent check can miss a closed port.
"""
from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping
from typing import Any, ClassVar

from .base import (
    CheckFailed,
    CheckResult,
    Target,
    TaskChecker,
    check_address,
    check_port,
    guarded,
    is_ipv6,
    parse_hex,
)
from .spec.udp import UdpOptions


class UdpChecker(TaskChecker):
    kind: ClassVar[str] = "udp"

    def __init__(self, target: Target, options: UdpOptions | Mapping[str, Any]) -> None:
        opts = UdpOptions.of(options)
        self.address = check_address(target)
        self.port = check_port(target)
        self.family = socket.AF_INET6 if is_ipv6(self.address) else socket.AF_INET
        self.payload = parse_hex("udp_payload", opts.udp_payload)
        self.expect = parse_hex("udp_expect", opts.udp_expect)

    async def check(self, timeout: float) -> CheckResult:
        if self.expect:
            return await guarded(self._probe, timeout,
                                 timeout_detail=f"no reply within {timeout:g}s")
        return await guarded(self._probe, timeout, timeout_ok=True,
                             timeout_detail=f"no port unreachable within {timeout:g}s")

    async def _probe(self) -> str:
        loop = asyncio.get_running_loop()
        with socket.socket(self.family, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            await loop.sock_connect(sock, (self.address, self.port))
            try:
                await loop.sock_sendall(sock, self.payload)
                reply = await loop.sock_recv(sock, 65535)
            except ConnectionRefusedError:
                raise CheckFailed("port unreachable") from None
        if self.expect and not reply.startswith(self.expect):
            raise CheckFailed(f"unexpected reply ({len(reply)} bytes)")
        return f"reply ({len(reply)} bytes)"
