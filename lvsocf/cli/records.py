"""The state records `lvsocf status` reads, parsed tolerantly.

Every parser takes whatever json.loads gave (any type) and returns plain values, or raises
Malformed with a message that names the bad field. Optional fields of the wrong type become
None: a record is rejected only when it cannot be placed (its service key, address, port or
health state are unusable).
"""
from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from typing import Any

from lvsocf.ipvs.model import ServiceKey
from lvsocf.records import RecordError, ServiceRecord, key_from_json, strict_int

HEALTH_STATES = ("unknown", "up", "soft_down", "down", "soft_up")
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


def opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


service_key = key_from_json


def address(value: Any, name: str = "address") -> str:
    try:
        if not isinstance(value, str):
            raise ValueError
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise Malformed(f"{name}: not an IP address: {value!r}") from None


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


def _rs_key(raw: dict[str, Any], src: Any) -> RsKey:
    key = service_key(raw.get("service"))
    if not isinstance(src, dict):
        raise Malformed("real_server: expected an object")
    return key, address(src.get("address")), strict_int(src.get("port", 0), "port")


def parse_realserver(raw: Any) -> Parsed:
    """A `realservers` record -> ((key, address, port), {"failure_action"})."""
    raw = _object(raw)
    return _rs_key(raw, raw.get("real_server")), {
        "failure_action": opt_str(raw.get("failure_action"))}


def parse_health(raw: Any, alive: Callable[[int], bool] = pid_alive) -> Parsed:
    """A `health` record -> ((key, address, port), the fields `lvsocf status --json` shows)."""
    raw = _object(raw)
    rs_key = _rs_key(raw, raw)
    state = raw.get("state")
    if state not in HEALTH_STATES:
        raise Malformed(f"state: expected one of {', '.join(HEALTH_STATES)}, got {state!r}")
    check = raw.get("check")
    if isinstance(check, dict):
        check = check.get("kind")
    healthy = raw.get("healthy")
    pid = opt_int(raw.get("engine_pid"))
    return rs_key, {
        "state": state,
        "healthy": healthy if isinstance(healthy, bool) else state in ("up", "soft_down"),
        "since": opt_num(raw.get("since")),
        "last_check": opt_num(raw.get("last_check")),
        "latency": opt_num(raw.get("latency")),
        "detail": opt_str(raw.get("detail")),
        "error": opt_str(raw.get("error")) or None,
        "check": opt_str(check),
        "weight": opt_int(raw.get("weight")),
        "configured_weight": opt_int(raw.get("configured_weight")),
        "engine_pid": pid,
        "engine_running": None if pid is None or pid <= 0 else alive(pid),
        "failure_action": opt_str(raw.get("failure_action")),
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
