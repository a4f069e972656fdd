"""What lvsocf exports: per real server (labels service, real_server, resource) its health
state, weights, last check and flaps; per engine its check rate, lateness and the age of its
last cycle. Built from the records the engine publishes (HealthRecord, the engine status
record), so the engine's .prom file and `lvsocf status --format prometheus` say the same.
No check option (an HTTP password, a script's arguments) ever becomes a label."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lvsocf.checks.state import HealthState
from lvsocf.engine import watchdog
from lvsocf.ipvs.model import ServiceKey
from lvsocf.metrics.exposition import Family, render
from lvsocf.records import HealthRecord

STATES = ("up", "down", "unknown")


def service_label(key: ServiceKey) -> str:
    """tcp:10.0.0.1:80, udp:[2001:db8::1]:53, fwmark:5:inet6."""
    if key.fwmark:
        return f"fwmark:{key.fwmark}:{key.family}"
    host = f"[{key.address}]" if key.family == "inet6" else key.address
    return f"{key.protocol}:{host}:{key.port}"


def real_server_label(address: str, port: int) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"{host}:{port}"


# name, type, help, value of a HealthRecord (None: no sample)
_PER_SERVER: tuple[tuple[str, str, str, Callable[[HealthRecord], float | None]], ...] = (
    ("soft_state", "gauge", "1 while the real server is in a soft state (failing or rising, "
     "fewer than fall/rise results in a row)",
     lambda h: 1 if h.state in ("soft_down", "soft_up") else 0),
    ("weight", "gauge", "Current weight of the real server in the kernel (absent: no entry)",
     lambda h: h.weight),
    ("configured_weight", "gauge",
     "Configured weight of the real server (its weight when healthy)",
     lambda h: h.configured_weight),
    ("check_duration_seconds", "gauge", "Duration of the last health check",
     lambda h: h.latency),
    ("last_check_timestamp_seconds", "gauge", "Unix time of the last health check",
     lambda h: h.last_check),
    ("consecutive_failures", "gauge", "Failed health checks in a row",
     lambda h: h.consecutive_failures),
    ("flaps_total", "counter",
     "Hard health state changes (up, down, unknown) of the real server", lambda h: h.flaps),
)


def real_server_families(health: Mapping[str, HealthRecord]) -> list[Family]:
    state = Family("lvsocf_real_server_state", "gauge",
                   "Health state of the real server as the check engine sees it: 1 for the "
                   "current hard state (up, down, unknown), 0 for the others")
    others = [(Family(f"lvsocf_real_server_{name}", kind, text), value)
              for name, kind, text, value in _PER_SERVER]
    for name in sorted(health):
        h = health[name]
        labels = {"service": service_label(h.key),
                  "real_server": real_server_label(h.address, h.port), "resource": name}
        current = HealthState(h.state).hard.value
        for s in STATES:
            state.add({**labels, "state": s}, 1 if s == current else 0)
        for fam, value in others:
            fam.add(labels, value(h))
    return [state, *(fam for fam, _ in others)]


def engine_families(status: Mapping[str, Any] | None, now: float) -> list[Family]:
    fams = {
        "up": Family("lvsocf_engine_status_present", "gauge",
                     "1 when the check engine's status record was found"),
        "rate": Family("lvsocf_engine_checks_per_second", "gauge",
                       "Health checks run per second (over the last status period)"),
        "checks": Family("lvsocf_engine_checks_total", "counter",
                         "Health checks run since the engine started"),
        "failures": Family("lvsocf_engine_check_failures_total", "counter",
                           "Failed health checks since the engine started"),
        "late": Family("lvsocf_engine_check_lateness_seconds", "gauge",
                       "How late checks start compared with their schedule (quantiles of "
                       "recent checks)"),
        "cycle": Family("lvsocf_engine_last_cycle_timestamp_seconds", "gauge",
                        "Unix time of the engine's last cycle (its status record)"),
        "age": Family("lvsocf_engine_cycle_age_seconds", "gauge",
                      "Seconds since the engine's last cycle, when these metrics were made"),
        "stale": Family("lvsocf_engine_stale_after_seconds", "gauge",
                        "Cycle age beyond which IPVSRealServer's monitor reports the engine "
                        "hung"),
        "regs": Family("lvsocf_engine_registrations", "gauge",
                       "Real servers registered with the engine"),
    }
    fams["up"].add({}, 0 if status is None else 1)
    if status is not None:
        fams["rate"].add({}, watchdog.number(status.get("checks_per_second")))
        fams["checks"].add({}, watchdog.number(status.get("checks")))
        fams["failures"].add({}, watchdog.number(status.get("failures")))
        for q, key in (("0.5", "lateness_p50"), ("0.95", "lateness_p95")):
            fams["late"].add({"quantile": q}, watchdog.number(status.get(key)))
        at = watchdog.cycle_at(status)
        fams["cycle"].add({}, at)
        fams["age"].add({}, None if at is None else max(0.0, round(now - at, 3)))
        fams["stale"].add({}, watchdog.threshold(status))
        fams["regs"].add({}, watchdog.number(status.get("registrations")))
    return list(fams.values())


def exposition(health: Mapping[str, HealthRecord], status: Mapping[str, Any] | None,
               now: float) -> str:
    """The metrics text of these records, as of unix time `now`."""
    return render(real_server_families(health) + engine_families(status, now))


def from_state(now: float) -> str:
    """The metrics text of the records in the state directory (LVSOCF_STATE_DIR)."""
    from lvsocf import state

    return exposition(HealthRecord.all(), state.read("engine", "status"), now)
