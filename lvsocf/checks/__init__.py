"""Health checks: one small module per check type behind one interface, and the shared
rise/fall state machine.

    from lvsocf.checks import build_checker, Target
    checker = build_checker("http", Target("192.0.2.10", 80), {"request": "/health"})
    result = await checker.check(timeout=3.0)      # CheckResult(ok, latency, detail)

    from lvsocf.checks.state import RiseFall
    rf = RiseFall(rise=2, fall=3)
    transition = rf.observe(result.ok)             # Transition(old, new, hard, at) or None

Interface (base.py): Target(address, port), CheckResult(ok, latency, detail), the Checker
protocol (`kind`; `async check(timeout) -> CheckResult`, never raises: errors and timeouts are
ok=False; only cancellation propagates; `starter()` -> start(timeout, done), which starts a
check with a callback instead; `release()`, which lets go of what is kept between checks) and
CheckConfigError (a ValueError naming the bad option). The engine resolves starter() once per
checker, so tcp, tcp-half-open and http checks run without any task; the other checks get
starter() and release() from TaskChecker (check() as a task, nothing kept).
build_checker validates every option up front, so a CheckConfigError is what an agent's
validate-all reports; options that a kind does not use are ignored, empty values mean
"unset". Option keys are the IPVSRealServer parameter names (docs/interfaces.md); each kind
declares the parameters it reads and its typed, frozen options object in spec/ (imported
without the checks), and its checker gets that object: nothing re-parses text.

Kinds (module: how):
  none      none.py      always up
  ping      ping.py      ICMP/ICMPv6 echo on a shared datagram (ping_group_range) or raw socket
  tcp       tcp.py       connect, reset (on the epoll reactor, streams.py)
  tcp-half-open  halfopen.py  SYN, SYN-ACK or RST, no connection (one raw socket per family)
  http      http.py      HTTP/1.1 request on the epoll reactor; status_codes, receive;
                         reuse_connection keeps the connection for the next check
  https     http.py      same over asyncio's TLS streams; verified unless tls_verify=false
  udp       udp.py       send udp_payload; udp_expect prefix, or no port unreachable
  dns       dns.py       hand-built query over UDP; NOERROR, question echoed, receive
  external  external.py  external_command argv (shlex, no shell), exit 0, group killed at timeout

Everything runs on the caller's event loop: no threads, no executor (the external check forks
its command; on Python 3.11 asyncio's default child watcher uses one thread per child).
Modules are imported on first use so importing this package stays cheap.
"""
from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from . import spec
from .base import CheckConfigError, Checker, CheckResult, Target
from .spec import CHECK_KINDS, CheckOptions

__all__ = ["CHECK_KINDS", "CheckConfigError", "CheckOptions", "CheckResult", "Checker",
           "Target", "build_checker"]


def build_checker(kind: str, target: Target,
                  options: Mapping[str, Any] | CheckOptions) -> Checker:
    """A checker of `kind` for `target` with its typed options (spec.options_of makes them
    from a record's option map); raises CheckConfigError for a bad kind or option."""
    entry = spec.kind(kind)
    typed = entry[2].of(options) if isinstance(options, Mapping) else options
    if not isinstance(typed, entry[2]):
        raise CheckConfigError(f"check_type: {kind} does not take {type(typed).__name__}")
    module = importlib.import_module(f"{__name__}.{entry[0]}")
    checker: Checker = getattr(module, entry[1])(target, typed)
    return checker
