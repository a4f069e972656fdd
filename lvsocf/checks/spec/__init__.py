"""What the check kinds declare, without importing the checks (asyncio, ssl): the
IPVSRealServer parameters each kind reads and its typed, frozen options object.

    from lvsocf.checks.spec import PARAMETERS, options_of
    PARAMETERS                                  # check_type ... external_command (Param)
    options_of("http", {"tls_verify": False})   # HttpOptions(..., tls_verify=False, ...)

One module per kind with options of its own (http.py for http and https, udp.py, dns.py,
external.py; common.py for what every kind shares: the target override and the timing).
The agent's meta-data is generated from PARAMETERS, in this order.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lvsocf.agents.params import Param

from ..base import CheckConfigError
from . import common, dns, external, http, udp
from .common import NoOptions, target
from .options import CheckOptions

__all__ = ["CHECK_KINDS", "KINDS", "OPTION_NAMES", "PARAMETERS", "CheckOptions", "kind",
           "options_of", "target"]

#: kind -> (module, checker class, options type); the modules are imported on first use
KINDS: dict[str, tuple[str, str, type[CheckOptions]]] = {
    "none": ("none", "NoneChecker", NoOptions),
    "ping": ("ping", "PingChecker", NoOptions),
    "tcp": ("tcp", "TcpChecker", NoOptions),
    "tcp-half-open": ("halfopen", "HalfOpenChecker", NoOptions),
    "http": ("http", "HttpChecker", http.HttpOptions),
    "https": ("http", "HttpsChecker", http.HttpOptions),
    "udp": ("udp", "UdpChecker", udp.UdpOptions),
    "dns": ("dns", "DnsChecker", dns.DnsOptions),
    "external": ("external", "ExternalChecker", external.ExternalOptions),
}

CHECK_KINDS: tuple[str, ...] = tuple(KINDS)

CHECK_TYPE = Param(common.CHECK_TYPE, "Health check", f"""
          How the real server is checked: {', '.join(CHECK_KINDS)}. none keeps it up
          without probing. tcp connects (and resets); tcp-half-open only sends a SYN and
          takes the SYN-ACK, so the backend's application never sees a connection.""",
                   type="select", choices=CHECK_KINDS, default="tcp")

#: the options a record carries (name -> typed value): the target override and every
#: kind's own, in declaration order
OPTIONS: tuple[Param, ...] = (*common.TARGET, *http.PARAMETERS, *udp.PARAMETERS,
                              *dns.PARAMETERS, *external.PARAMETERS)
OPTION_NAMES: tuple[str, ...] = tuple(p.name for p in OPTIONS)

#: every check parameter, in the order of the agent's meta-data
PARAMETERS: tuple[Param, ...] = (CHECK_TYPE, *common.TARGET, *common.TIMING,
                              *OPTIONS[len(common.TARGET):])


def kind(name: str) -> tuple[str, str, type[CheckOptions]]:
    """The KINDS entry of a check kind; CheckConfigError naming check_type if unknown."""
    entry = KINDS.get(name)
    if entry is None:
        raise CheckConfigError(
            f"check_type: expected one of {', '.join(CHECK_KINDS)}, got {name!r}")
    return entry


def options_of(name: str, values: Mapping[str, Any]) -> CheckOptions:
    """The typed options of kind `name` from a record's option map; CheckConfigError for an
    unknown kind or a bad option."""
    return kind(name)[2].of(values)
