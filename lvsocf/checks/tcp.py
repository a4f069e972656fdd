"""check_type=tcp: a TCP connect to address:port within the timeout, then close (FIN)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from . import streams
from .base import CheckResult, Target, check_address, check_port, socket_address


class TcpChecker:
    kind: ClassVar[str] = "tcp"
    request: bytes | None = None        # connecting is the whole check

    def __init__(self, target: Target, options: Mapping[str, str]) -> None:
        self.address = check_address(target)
        self.port = check_port(target)
        self.family, self.sockaddr = socket_address(self.address, self.port)

    def decide(self, data: bytes, eof: bool) -> str | None:
        return "connected"

    def begin(self, timeout: float, done: streams.Done) -> streams.Probe:
        return streams.reactor().begin(self, timeout, done)

    async def check(self, timeout: float) -> CheckResult:
        return await streams.reactor().run(self, timeout)

