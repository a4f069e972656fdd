"""The state records `lvsocf status` reads, parsed tolerantly.

Every parser takes whatever json.loads gave (any type) and returns plain values, or raises
Malformed with a message that names the bad field. Optional fields of the wrong type become
None: a record is rejected only when it cannot be placed (its service key, address, port or
health state are unusable).
"""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from lvsocf.ipvs.model import ServiceKey
from lvsocf.records import (
    HealthRecord,
    RealServerRecord,
    RecordError,
    ServiceRecord,
    key_from_json,
)

RsKey = tuple[ServiceKey, str, int]
Parsed = tuple[Any, dict[str, Any]]


def pid_alive(pid: int) -> bool:
    """The process exists (signal 0); a pid we may not signal counts as existing."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError, OSError):
        return False
    return True


Malformed = RecordError     # one error for every record reader (lvsocf.records)


def opt_num(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def opt_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


service_key = key_from_json


def _object(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise Malformed("not a JSON object")
    return raw


def parse_service(raw: Any) -> Parsed:
    """A `services` record -> (ServiceKey, {"fallback": None | {address, port, method}})."""
    record = ServiceRecord.from_json(raw)
    fb = record.fallback
    return record.key, {"fallback": None if fb is None else {
        "address": fb.address, "port": fb.port, "method": fb.method}}


def parse_realserver(raw: Any) -> Parsed:
    """A `realservers` record -> ((key, address, port), {"failure_action"})."""
    record = RealServerRecord.from_json(raw)
    return (record.key, record.server.address, record.server.port), {
        "failure_action": record.failure_action}


def parse_health(raw: Any, alive: Callable[[int], bool] = pid_alive) -> Parsed:
    """A `health` record -> ((key, address, port), the fields `lvsocf status --json` shows)."""
    h = HealthRecord.from_json(raw)
    pid = h.engine_pid
    return (h.key, h.address, h.port), {
        "state": h.state, "healthy": h.healthy, "since": h.since, "last_check": h.last_check,
        "latency": h.latency, "detail": h.detail, "error": h.error, "check": h.check,
        "weight": h.weight, "configured_weight": h.configured_weight, "engine_pid": pid,
        "engine_running": None if pid is None or pid <= 0 else alive(pid),
        "failure_action": h.failure_action,
    }


def parse_engine(raw: Any, alive: Callable[[int], bool] = pid_alive) -> dict[str, Any]:
    """The engine's `engine/status` record -> {pid, running, started, at, counters...}."""
    raw = _object(raw)
    pid = opt_int(raw.get("pid"))
    out: dict[str, Any] = {"pid": pid,
                           "running": None if pid is None or pid <= 0 else alive(pid)}
    for name in ("started", "at"):
        out[name] = opt_num(raw.get(name))
    for name in ("registrations", "healthy", "down", "checks", "failures"):
        out[name] = opt_int(raw.get(name))
    workers = raw.get("workers")
    out["workers"] = len(workers) if isinstance(workers, list) else None
    return out
