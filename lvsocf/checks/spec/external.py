"""The parameters and options of check_type=external (lvsocf.checks.external)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lvsocf.agents.params import Param

from .options import CheckOptions

PARAMETERS = (
    Param("external_command", "External check command", """
          Command run by the external check: shell-quoted words, never run through a
          shell; exit status 0 = up. It gets LVSOCF_RIP, LVSOCF_RPORT and LVSOCF_TIMEOUT.
          Never logged.""", default=""),
)


@dataclass(frozen=True)
class ExternalOptions(CheckOptions):
    """external: the command line (shell-quoted words, "" unset)."""

    USES: ClassVar[tuple[Param, ...]] = PARAMETERS
    external_command: str
