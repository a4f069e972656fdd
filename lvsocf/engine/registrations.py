"""The engine's registrations: `realservers` records -> monitors (added, changed, removed,
drained). A part of Engine (a mixin: it uses the engine's monitors, marks and health set).

A draining registration (IPVSRealServer's stop) runs no more checks; the engine gives its
entry weight 0, removes it once it has no active connection or at the deadline, then
deregisters it and removes its record: what stop waits for.
"""
from __future__ import annotations

import logging
import random
import time
from typing import TYPE_CHECKING

from lvsocf import state
from lvsocf.engine import health, registry
from lvsocf.engine.monitor import Monitor
from lvsocf.engine.registry import Registration
from lvsocf.records import HealthRecord, RealServerRecord

if TYPE_CHECKING:
    from lvsocf.engine.attrd import Attrd
    from lvsocf.engine.lag import LagMeter
    from lvsocf.engine.monitor import OnResult, Stats
    from lvsocf.engine.sharing import CheckGroups
    from lvsocf.engine.slowstart import SlowStart
    from lvsocf.engine.timetable import Timetable
    from lvsocf.ipvs.model import ServiceKey

log = logging.getLogger("lvsocf.engine")
INITIAL_RATE = 200.0     # first checks per second of registrations that arrive together
REFRESH_WRITES = 50.0    # health records rewritten per second at most just to refresh
                         # last_check/latency (changes are written at once)


class Registrations:
    records: registry.RecordDir
    monitors: dict[str, Monitor]
    _by_key: dict[ServiceKey, dict[str, Monitor]]
    _draining: set[str]
    _health_dirty: set[str]
    _health_written: dict[str, float]
    _refresh_every: float
    _refresh_order: list[str]
    health_refresh: float
    attrd: Attrd
    stats: Stats
    timetable: Timetable
    lag: LagMeter
    _on_result: OnResult
    slow_start: SlowStart
    check_groups: CheckGroups

    def _mark(self, key: ServiceKey, reconcile: bool) -> None:
        raise NotImplementedError

    def sync(self) -> registry.Diff:
        new = self.records.load()
        current = {name: m.reg for name, m in self.monitors.items()}
        diff = registry.diff(current, new)
        for reg in diff.removed:
            self._remove(reg)
        # Many new registrations at once (a restart, a big configuration) start their checks
        # spread out, at most INITIAL_RATE per second, instead of in one burst.
        spread = len(diff.added) / INITIAL_RATE
        for reg in diff.added:
            self._add(reg, spread)
        for old, reg in diff.changed:
            self._change(old, reg)
        if diff:
            self._warn_duplicates()
        self._refresh_every = max(self.health_refresh, len(self.monitors) / REFRESH_WRITES)
        if diff:
            self._refresh_order = list(self.monitors)
        return diff

    def _add(self, reg: Registration, spread: float) -> None:
        record = HealthRecord.read(reg.name)
        resume = health.resume_from(reg, record)
        m = Monitor(reg, resume, self._on_result, self.stats, self.timetable, self.lag,
                    self.check_groups)
        self.monitors[reg.name] = m
        self._by_key.setdefault(reg.key, {})[reg.name] = m
        self._health_dirty.add(reg.name)
        self.attrd.set(reg.name, m.state.value)
        if reg.draining is not None:
            self._drain(m)
            return
        if m.error:
            log.error("%s: not checked: %s", reg, m.error)
            return
        resumed = not resume.pending_add and record is not None
        changed_meanwhile = resumed and record.registration != reg.digest
        self._mark(reg.key, reconcile=not resumed or changed_meanwhile)
        if resumed:
            log.info("%s: resumed %s (%s check every %gs)", reg, resume.state.value,
                     reg.check.kind, reg.check.interval)
            self.slow_start.resume(m, resume.since, time.time())
            m.start(random.uniform(0, reg.check.interval))
        else:
            log.info("registered %s (%s check every %gs, rise %d, fall %d, on failure %s)",
                     reg, reg.check.kind, reg.check.interval, reg.check.rise, reg.check.fall,
                     reg.failure_action)
            m.start(random.uniform(0, min(reg.check.interval, max(0.2, spread))))

    def _remove(self, reg: Registration) -> None:
        m = self.monitors.pop(reg.name, None)
        if m is not None:
            m.stop()
            group = self._by_key.get(m.reg.key, {})
            group.pop(reg.name, None)
            if not group:
                self._by_key.pop(m.reg.key, None)
        self._health_dirty.discard(reg.name)
        self._health_written.pop(reg.name, None)
        self._draining.discard(reg.name)
        self.slow_start.forget(reg.name)
        state.remove(health.KIND, reg.name)
        self.attrd.delete(reg.name)
        log.info("deregistered %s", reg)

    def _change(self, old: Registration, reg: Registration) -> None:
        m = self.monitors[reg.name]
        if reg.draining is not None:
            m.reg = reg
            self._drain(m)
            return
        if old.draining is not None:
            log.info("%s: drain called off", reg)
            self._draining.discard(reg.name)
            m.start()
        if m.reconfigure(reg):
            log.info("%s: check reconfigured (%s every %gs), state %s kept", reg,
                     reg.check.kind, reg.check.interval, m.state.value)
            if m.error:
                log.error("%s: not checked: %s", reg, m.error)
        if (old.server, old.failure_action, old.initial_weight) != \
                (reg.server, reg.failure_action, reg.initial_weight):
            log.info("%s: real server settings changed", reg)
        # Reconcile even for a check-only change: cheap, and it answers the agent's wait.
        self._mark(reg.key, reconcile=True)
        self._health_dirty.add(reg.name)

    def _drain(self, m: Monitor) -> None:
        """IPVSRealServer's stop: no more checks; weight 0 until the entry has no active
        connection or the deadline passes, then the entry goes (apply), then the record."""
        m.stop()
        if m.name not in self._draining:
            self._draining.add(m.name)
            log.info("%s: draining for up to %.0fs", m.reg,
                     max(0.0, (m.reg.draining or 0) - time.time()))
        self._mark(m.reg.key, reconcile=True)

    def _drained(self, m: Monitor) -> None:
        """The entry of a draining registration is gone: deregister, and remove its record
        (unless the agent wrote a new one meanwhile), which is what stop waits for."""
        self._remove(m.reg)
        if registry.parse_or_none(m.name, state.read(RealServerRecord.KIND, m.name)) == m.reg:
            state.remove(RealServerRecord.KIND, m.name)

    def _warn_duplicates(self) -> None:
        seen: dict[tuple, str] = {}
        for name, m in sorted(self.monitors.items()):
            other = seen.setdefault(m.reg.ident, name)
            if other != name:
                log.warning("%s and %s register the same real server %s of %s", other, name,
                            m.reg.server, m.reg.key)
