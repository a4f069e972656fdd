"""The `health` records the engine publishes (one per registration; lvsocf.records.HealthRecord)
and how a restarted engine resumes from them.

Format (docs/interfaces.md): service, address, port, check, state, healthy, since, last_check,
latency, detail, weight, configured_weight, engine_pid; plus registration (the digest of the
record the engine runs: the agents' acknowledgement), failure_action, error,
consecutive_failures and flaps (hard state changes, resumed by a restarted engine).
"""
from __future__ import annotations

from dataclasses import dataclass

from lvsocf.checks.state import HealthState
from lvsocf.engine.registry import Registration
from lvsocf.records import HealthRecord

KIND = HealthRecord.KIND


@dataclass(frozen=True)
class Resume:
    state: HealthState      # hard state to resume from
    since: float | None     # unix time of the last hard transition
    pending_add: bool       # the entry was never added by an engine
    flaps: int = 0          # hard state changes so far (a counter that survives restarts)


def resume_from(reg: Registration, record: HealthRecord | None) -> Resume:
    """Where a (re)started engine picks a registration up: the published hard state when the
    record is about the same real server, else UNKNOWN (weights are then kept as they are
    in the kernel until the first verdict)."""
    if record is None or record.key != reg.key or \
            (record.address, record.port) != reg.server.ident:
        return Resume(HealthState.UNKNOWN, None, True)
    hard = HealthState(record.state).hard
    pending = hard is HealthState.UNKNOWN and record.weight is None
    return Resume(hard, None if record.since is None else float(record.since), pending,
                  max(0, record.flaps or 0))


def build(reg: Registration, *, state: HealthState, since: float | None,
          last_check: float | None, latency: float | None, detail: str,
          weight: int | None, engine_pid: int, error: str | None,
          consecutive_failures: int | None = None, flaps: int | None = None) -> HealthRecord:
    return HealthRecord(
        reg.key, reg.server.address, reg.server.port, state.value, state.healthy,
        check=reg.check.kind, since=since, last_check=last_check,
        latency=None if latency is None else round(latency, 6), detail=detail,
        weight=weight, configured_weight=reg.server.weight, engine_pid=engine_pid,
        registration=reg.digest, failure_action=reg.failure_action, error=error,
        consecutive_failures=consecutive_failures, flaps=flaps)
