"""check_type=tcp: a TCP connect to address:port within the timeout, then close."""
from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping
from typing import ClassVar

from .base import CheckResult, Target, check_address, check_port, guarded, is_ipv6


class TcpChecker:
    kind: ClassVar[str] = "tcp"

    def __init__(self, target: Target, options: Mapping[str, str]) -> None:
        self.address = check_address(target)
        self.port = check_port(target)
        self.family = socket.AF_INET6 if is_ipv6(self.address) else socket.AF_INET

    async def check(self, timeout: float) -> CheckResult:
        return await guarded(self._probe, timeout)

    async def _probe(self) -> str:
        loop = asyncio.get_running_loop()
        with socket.socket(self.family, socket.SOCK_STREAM) as sock:
            sock.setblocking(False)
            # Numeric address: sock_connect skips getaddrinfo. The socket is closed normally
            # (FIN) on leaving the block, or reset by the kernel if the connect never finished.
            await loop.sock_connect(sock, (self.address, self.port))
        return "connected"
