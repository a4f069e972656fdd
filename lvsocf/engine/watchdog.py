"""Is the running engine alive in name only? A process can be alive with its check cycle
stale (SIGSTOP, a blocked event loop): it then checks nothing and changes no weight, and
nobody would know. Its status record says when its loop last ran (`cycle_at`, `at`) and the
longest check interval it runs (`interval_max`); IPVSRealServer's monitor reads that record
(one small file: cheap) and reports such an engine hung.

Stale after max(3 x the longest check interval, FLOOR) seconds: the record is written every
5 s (engine.publish.STATUS_EVERY) and a check interval longer than FLOOR/3 may itself keep a
slow engine quiet that long. An engine that has not written its status record yet (starting)
gets STARTING seconds from its pid file.

Cheap to import (no asyncio): the agents' monitor uses it.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from lvsocf import state
from lvsocf.engine import files

FLOOR = 30.0
INTERVALS = 3       # stale after this many of the longest check interval (or FLOOR)
STARTING = 300.0     # loading thousands of registrations (in TCG) is slow: engine.supervisor


def number(value: Any) -> float | None:
    """A record's numeric field (bools are no numbers), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def threshold(status: Mapping[str, Any]) -> float:
    """Seconds of cycle age after which the engine counts as hung."""
    longest = number(status.get("interval_max")) or 0.0
    return max(INTERVALS * longest, FLOOR)


def cycle_at(status: Mapping[str, Any]) -> float | None:
    """Unix time of the engine's last cycle: its workers' oldest under a supervisor."""
    at = number(status.get("cycle_at"))
    return at if at is not None else number(status.get("at"))


def hung(pid: int, now: float, status: Mapping[str, Any] | None = None) -> str | None:
    """Why the running engine `pid` is hung (an exit reason), None while its cycle is fresh.
    Reads the status record unless given."""
    if status is None:
        status = state.read("engine", "status")
    if status is not None and status.get("pid") == pid:
        at, limit = cycle_at(status), threshold(status)
        if at is None:
            return None
        age = now - at
        if age > limit:
            return (f"the check engine (pid {pid}) is hung: its cycle is {age:.0f} s old "
                    f"(limit {limit:.0f} s)")
        return None
    try:        # no status record of this engine yet: it is starting
        started = os.stat(files.path(files.PID)).st_mtime
    except OSError:
        return None
    age = now - started
    if age > STARTING:
        return (f"the check engine (pid {pid}) is hung: no cycle in the {age:.0f} s since it "
                "started")
    return None
