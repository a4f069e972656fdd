"""check_type=tcp: a TCP connect (full handshake) to address:port within the timeout, then a
reset (RST: see streams.Reactor.begin)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from . import streams
from .base import Target, check_address, check_port, socket_address
from .spec.common import NoOptions


class TcpChecker(streams.OnReactor):
    kind: ClassVar[str] = "tcp"
    request: bytes | None = None        # connecting is the whole check

    def __init__(self, target: Target, options: NoOptions | Mapping[str, Any]) -> None:
        self.address = check_address(target)
        self.port = check_port(target)
        self.family, self.sockaddr = socket_address(self.address, self.port)

    def decide(self, data: bytes, eof: bool) -> str | None:
        return "connected"

