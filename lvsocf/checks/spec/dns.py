"""The parameters and options of check_type=dns (lvsocf.checks.dns)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lvsocf.agents.params import Param

from .http import RECEIVE
from .options import CheckOptions

PARAMETERS = (
    Param("dns_query", "DNS query name", "Name queried by the dns check (default .).",
          default=""),
    Param("dns_type", "DNS query type", "A, AAAA, NS, SOA, MX, TXT, CNAME or PTR (dns).",
          default=""),
)


@dataclass(frozen=True)
class DnsOptions(CheckOptions):
    """dns: the name and type asked for ("": . and SOA) and the answer expected."""

    USES: ClassVar[tuple[Param, ...]] = (*PARAMETERS, RECEIVE)     # receive: declared by http
    dns_query: str
    dns_type: str
    receive: str
