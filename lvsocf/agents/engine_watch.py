"""IPVSRealServer and a hung check engine (alive, its cycle stale: SIGSTOP, a blocked event
loop; lvsocf.engine.watchdog).

- monitor reports it: OCF_ERR_GENERIC, exit reason "the check engine (pid P) is hung: its
  cycle is N s old", never a down backend or a weight change; and it leaves a marker
  (state kind `recovery`, per instance) saying so.
- Pacemaker recovers with stop, then start. A stop within WINDOW seconds of that marker is a
  recovery: it kills the hung engine (SIGKILL: an engine dying changes nothing in the kernel)
  and keeps the real server's entry, weight, record and health record; start then starts a
  new engine, which resumes every real server from its health record, and clears the marker.
  No weight changes, for this real server or any other: a hung engine fails every real
  server's monitor at once, and draining them all would empty the service.
- Any other stop (no marker, or an old one) drains and removes as always.
"""
from __future__ import annotations

import signal
import time
from typing import Any

from lvsocf import state
from lvsocf.agents.base import Context, OcfError
from lvsocf.engine import client, watchdog

KIND = "recovery"
WINDOW = 600.0          # seconds a monitor's finding stays good for the stop that follows
KILL_WAIT = 10.0


def check(ctx: Context, pid: int) -> None:
    """Raise OcfError (OCF_ERR_GENERIC) when the running engine `pid` is hung."""
    reason = watchdog.hung(pid, time.time())
    if reason is None:
        return
    try:
        state.write(KIND, ctx.instance, {"engine_pid": pid, "at": time.time(),
                                         "reason": reason})
    except OSError as exc:
        ctx.logger.warning("cannot record the hung engine for the recovery: %s", exc)
    raise OcfError(reason)


def _marker(ctx: Context) -> dict[str, Any] | None:
    marker = state.read(KIND, ctx.instance)
    at = marker.get("at") if marker else None
    if not isinstance(at, int | float) or not 0 <= time.time() - at <= WINDOW:
        return None
    return marker


def recovery_stop(ctx: Context) -> bool:
    """The stop of a recovery from a hung engine (see the module): True when it is one and
    is done (the hung engine killed, the real server kept as it is)."""
    if _marker(ctx) is None:
        return False
    pid = client.running_pid()
    if pid is not None and watchdog.hung(pid, time.time()) is not None:
        kill(ctx, pid)
    ctx.logger.warning("recovering from a hung check engine: real server kept in the kernel "
                       "with its weight for the start that follows")
    return True


def started(ctx: Context) -> None:
    """start ran: a later stop is a stop again."""
    state.remove(KIND, ctx.instance)


def kill(ctx: Context, pid: int) -> None:
    """SIGKILL the hung engine (its workers die with it) and wait until its lock is free."""
    if not client.is_engine(pid):
        return
    ctx.logger.warning("killing the hung check engine (pid %d); weights stay as they are",
                       pid)
    client.stop_engine(pid, signal.SIGKILL, KILL_WAIT)
