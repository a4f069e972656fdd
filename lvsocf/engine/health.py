"""The `health` records the engine publishes (one per registration) and how a restarted
engine resumes from them.

Format (docs/interfaces.md): service, address, port, check, state, healthy, since, last_check,
latency, detail, weight, configured_weight, engine_pid; plus registration (the digest of the
record the engine runs: the agents' acknowledgement), failure_action and error.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lvsocf.checks.state import HealthState
from lvsocf.engine.registry import Registration
from lvsocf.records import key_from_json, key_to_json

KIND = "health"


@dataclass(frozen=True)
class Resume:
    state: HealthState      # hard state to resume from
    since: float | None     # unix time of the last hard transition
    pending_add: bool       # the entry was never added by an engine


def resume_from(reg: Registration, record: Mapping[str, Any] | None) -> Resume:
    """Where a (re)started engine picks a registration up: the published hard state when the
    record is about the same real server, else UNKNOWN (weights are then kept as they are
    in the kernel until the first verdict)."""
    if not record:
        return Resume(HealthState.UNKNOWN, None, True)
    try:
        same = (key_from_json(record["service"]) == reg.key
                and (record["address"], int(record["port"])) == reg.server.ident)
        hard = HealthState(record["state"]).hard
    except (KeyError, TypeError, ValueError):
        return Resume(HealthState.UNKNOWN, None, True)
    if not same:
        return Resume(HealthState.UNKNOWN, None, True)
    since = record.get("since")
    pending = hard is HealthState.UNKNOWN and record.get("weight") is None
    return Resume(hard, float(since) if isinstance(since, int | float) else None, pending)


def build(reg: Registration, *, state: HealthState, since: float | None,
          last_check: float | None, latency: float | None, detail: str,
          weight: int | None, engine_pid: int, error: str | None) -> dict[str, Any]:
    return {
        "service": key_to_json(reg.key),
        "address": reg.server.address,
        "port": reg.server.port,
        "check": reg.check.kind,
        "state": state.value,
        "healthy": state.healthy,
        "since": since,
        "last_check": last_check,
        "latency": None if latency is None else round(latency, 6),
        "detail": detail,
        "weight": weight,
        "configured_weight": reg.server.weight,
        "engine_pid": engine_pid,
        "registration": reg.digest,
        "failure_action": reg.failure_action,
        "error": error,
    }
