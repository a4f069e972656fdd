"""The parameters and options of check_type=udp (lvsocf.checks.udp)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lvsocf.agents.params import Param

from .options import CheckOptions

PARAMETERS = (
    Param("udp_payload", "UDP payload", "Hex bytes sent by the udp check.", default=""),
    Param("udp_expect", "Expected UDP reply", """
          Hex prefix the reply must start with (udp). Unset: up unless an ICMP port
          unreachable comes back.""", default=""),
)


@dataclass(frozen=True)
class UdpOptions(CheckOptions):
    """udp: the payload sent (hex) and the prefix expected back (hex; "" none)."""

    USES: ClassVar[tuple[Param, ...]] = PARAMETERS
    udp_payload: str
    udp_expect: str
