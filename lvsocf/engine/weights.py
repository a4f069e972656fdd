"""What the kernel should hold for the registered real servers: the weight decisions.

Pure functions (no kernel I/O): the engine feeds them its verdicts and the service's current
entries and applies the ops they return.

- UP (healthy, hard): the configured weight.
- DOWN (hard): weight 0 (failure_action quiescent) or no entry (remove).
- UNKNOWN (no verdict yet): an entry that exists keeps its weight (a restarted engine, or an
  adopted entry, changes nothing before its first verdict); a new registration's missing entry
  is added with initial_weight, 0 unless configured.

Only registered entries are owned; everything else in the service is left alone. The fallback
server follows the result (lvsocf.ipvs.fallback: in while nothing else has weight).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from lvsocf.checks.state import HealthState
from lvsocf.engine.registry import Registration
from lvsocf.ipvs.model import RealServer, RealServerInfo, ServiceKey
from lvsocf.ipvs.netlink import Op
from lvsocf.ipvs.reconcile import plan_real_servers
from lvsocf.records import ServiceRecord


@dataclass(frozen=True)
class Verdict:
    registration: Registration
    state: HealthState          # hard state: UNKNOWN, UP or DOWN
    pending_add: bool = False   # registered in this engine and not yet in the kernel


def desired_entry(v: Verdict, actual: RealServer | None) -> RealServer | None:
    """The entry this registration wants, or None for no entry."""
    reg = v.registration
    hard = v.state.hard
    if hard is HealthState.UP:
        return reg.server
    if hard is HealthState.DOWN:
        return replace(reg.server, weight=0) if reg.failure_action == "quiescent" else None
    if actual is not None:
        return replace(reg.server, weight=actual.weight)
    if v.pending_add:
        return replace(reg.server, weight=reg.initial_weight or 0)
    return None


@dataclass(frozen=True)
class Plan:
    ops: list[Op]
    after: list[RealServerInfo]    # the service's entries once every op has succeeded


def plan_service(key: ServiceKey, verdicts: Iterable[Verdict],
                 actual: Sequence[RealServerInfo]) -> Plan:
    """The netlink ops that bring the registered entries of `key` in line with `verdicts`,
    and the table they lead to (so the fallback decision needs no second read)."""
    have = {info.real_server.ident: info.real_server for info in actual}
    desired, owned = [], set()
    for v in verdicts:
        ident = v.registration.server.ident
        owned.add(ident)
        entry = desired_entry(v, have.get(ident))
        if entry is not None:
            desired.append(entry)
    ops = plan_real_servers(key, desired, actual, owned)
    want = {rs.ident: rs for rs in desired}
    after = []
    for info in actual:
        ident = info.real_server.ident
        if ident in want:
            after.append(replace(info, real_server=want.pop(ident)))
        elif ident not in owned:
            after.append(info)
    after += [RealServerInfo(rs) for rs in want.values()]
    return Plan(ops, after)


def fallbacks(services: Iterable[ServiceRecord]) -> dict[ServiceKey, RealServer]:
    """Fallback servers by service, from the `services` records IPVSService writes."""
    return {r.key: r.fallback for r in services if r.fallback is not None}
