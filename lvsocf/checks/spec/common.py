"""The parameters every check kind shares: its type, target override and timing."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from lvsocf.agents.params import Param

from ..base import Target
from .options import CheckOptions, typed

CHECK_TYPE = "check_type"       # its Param is made in spec/__init__.py (it lists the kinds)

CHECK_ADDRESS = Param("check_address", "Check address", """
          Probe this address instead of rip (e.g. a management address).""", default="")
CHECK_PORT = Param("check_port", "Check port", """
          Probe this port instead of rport (tcp, http, https, udp, dns).""",
                   type="integer", min=1, max=65535)
TARGET = (CHECK_ADDRESS, CHECK_PORT)

TIMING = (
    Param("check_interval", "Check interval", """
          Time between the starts of two checks (seconds, or with a unit: 500ms, 1m).""",
          type="time", min=0.1, max=86400, default=5),
    Param("check_timeout", "Check timeout", """
          A check that has not succeeded within this time failed.""",
          type="time", min=0.01, max=3600, default=3),
    Param("rise", "Rise", """
          Consecutive successes that make a down (or new) real server up.""",
          type="integer", min=1, max=1000, default=2),
    Param("fall", "Fall", """
          Consecutive failures that make an up (or new) real server down.""",
          type="integer", min=1, max=1000, default=3),
)


@dataclass(frozen=True)
class NoOptions(CheckOptions):
    """The options of a kind that has none of its own (none, ping, tcp, tcp-half-open)."""

    USES: ClassVar[tuple[Param, ...]] = ()


def target(options: Mapping[str, Any], address: str, port: int | None) -> Target:
    """What a check probes: check_address/check_port from the options, else the real
    server's address and port (0: none). CheckConfigError for a bad override."""
    check_address = typed(CHECK_ADDRESS, options.get("check_address"))
    check_port = typed(CHECK_PORT, options.get("check_port"))
    return Target(str(check_address or address), check_port or port or None)
