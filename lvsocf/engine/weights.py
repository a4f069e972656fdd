"""What the kernel should hold for the registered real servers: the weight decisions.

Pure functions (no kernel I/O): the engine feeds them its verdicts and the service's current
entries and applies the ops they return.

- UP (healthy, hard): the configured weight, or the step a slow start has reached.
- DOWN (hard): weight 0 (failure_action quiescent) or no entry (remove).
- UNKNOWN (no verdict yet): an entry that exists keeps its weight (a restarted engine, or an
  adopted entry, changes nothing before its first verdict); a new registration's missing entry
  is added with initial_weight, 0 unless configured.
- DRAINING (IPVSRealServer's stop set a deadline), whatever the health: weight 0 while the
  entry has active connections and the deadline is ahead, then no entry. Never added.

Only registered entries are owned; everything else in the service is left alone. The fallback
server follows the result (lvsocf.ipvs.fallback: in while nothing else has weight).
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from lvsocf.checks.state import HealthState
from lvsocf.engine.registry import Registration
from lvsocf.ipvs.model import RealServer, RealServerInfo, ServiceKey
from lvsocf.ipvs.op import Op
from lvsocf.ipvs.reconcile import plan_real_servers
from lvsocf.records import ServiceRecord


@dataclass(frozen=True)
class Verdict:
    registration: Registration
    state: HealthState          # hard state: UNKNOWN, UP or DOWN
    pending_add: bool = False   # registered in this engine and not yet in the kernel
    ramp: int | None = None     # the weight of a slow start under way (engine.slowstart)


def desired_entry(v: Verdict, actual: RealServer | None) -> RealServer | None:
    """The entry this registration wants, or None for no entry."""
    reg = v.registration
    hard = v.state.hard
    if hard is HealthState.UP:
        return reg.server if v.ramp is None else reg.server._replace(weight=v.ramp)
    if hard is HealthState.DOWN:
        return reg.server._replace(weight=0) if reg.failure_action == "quiescent" else None
    if actual is not None:
        return reg.server._replace(weight=actual.weight)
    if v.pending_add:
        return reg.server._replace(weight=reg.initial_weight or 0)
    return None


def drained(reg: Registration, info: RealServerInfo | None, now: float) -> bool:
    """A draining registration's entry may go (or is gone): no entry, no active connection
    left, or the drain deadline (unix time) has passed."""
    assert reg.draining is not None
    return info is None or info.active_conns == 0 or now >= reg.draining


@dataclass(frozen=True)
class Plan:
    ops: list[Op]
    after: list[RealServerInfo]    # the service's entries once every op has succeeded
    drained: list[str] = field(default_factory=list)   # draining registrations done by then


def plan_service(key: ServiceKey, verdicts: Iterable[Verdict],
                 actual: Sequence[RealServerInfo], now: float | None = None) -> Plan:
    """The netlink ops that bring the registered entries of `key` in line with `verdicts`,
    and the table they lead to (so the fallback decision needs no second read). `now` (unix
    time) decides drain deadlines."""
    now = time.time() if now is None else now
    infos = {info.real_server.ident: info for info in actual}
    desired, owned, done = [], set(), []
    for v in verdicts:
        reg = v.registration
        ident = reg.server.ident
        owned.add(ident)
        info = infos.get(ident)
        if reg.draining is not None:
            if drained(reg, info, now):
                done.append(reg.name)
            else:
                desired.append(reg.server._replace(weight=0))
            continue
        entry = desired_entry(v, None if info is None else info.real_server)
        if entry is not None:
            desired.append(entry)
    ops = plan_real_servers(key, desired, actual, owned)
    want = {rs.ident: rs for rs in desired}
    after = []
    for info in actual:
        ident = info.real_server.ident
        if ident in want:
            after.append(info._replace(real_server=want.pop(ident)))
        elif ident not in owned:
            after.append(info)
    after += [RealServerInfo(rs) for rs in want.values()]
    return Plan(ops, after, done)


def fallbacks(services: Iterable[ServiceRecord]) -> dict[ServiceKey, RealServer]:
    """Fallback servers by service, from the `services` records IPVSService writes."""
    return {r.key: r.fallback for r in services if r.fallback is not None}
