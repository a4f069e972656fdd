"""The engine's publishing: health records (changed ones at once, unchanged ones refreshed
slowly), the engine status record (also its heartbeat: engine.watchdog), the overload warning
and, when configured, the Prometheus metrics file (lvsocf.metrics). A part of Engine (a mixin: it
uses the engine's monitors, stats and dirty set)."""
from __future__ import annotations

import asyncio
import logging
import math
import resource
import time
from typing import TYPE_CHECKING

from lvsocf import state
from lvsocf.checks.state import HealthState
from lvsocf.engine import health
from lvsocf.records import HealthRecord

if TYPE_CHECKING:
    from lvsocf.engine.attrd import Attrd
    from lvsocf.engine.monitor import Monitor, Stats
    from lvsocf.engine.registry import Shard
    from lvsocf.metrics.files import Settings

log = logging.getLogger("lvsocf.engine")
STATUS_EVERY = 5.0
PUBLISH_EVERY = 0.2      # seconds between writes of changed health records
OVERLOADED = 1.0         # p95 seconds of check lateness that earns a warning


class Publishing:
    monitors: dict[str, Monitor]
    stats: Stats
    attrd: Attrd
    shard: Shard | None
    pid: int
    started: float
    _health_dirty: set[str]
    _health_written: dict[str, float]
    _refresh_every: float
    _refresh_order: list[str]
    _refresh_next: int
    metrics: Settings | None = None
    _rate_mark: tuple[int, float] | None = None
    _rate: float | None = None

    def _mark_stale_health(self, tick: float) -> None:
        """Rewrite records unchanged for `_refresh_every` seconds (their last_check/latency;
        changes are written at once). Called every `tick` seconds, it visits each record about
        twice per refresh period, a slice at a time: no test per check result."""
        order = self._refresh_order
        if not order:
            return
        share = 2 * tick / self._refresh_every if self._refresh_every > 0 else 1.0
        now = time.monotonic()
        for _ in range(min(len(order), math.ceil(len(order) * share))):
            self._refresh_next = (self._refresh_next + 1) % len(order)
            name = order[self._refresh_next]
            if now - self._health_written.get(name, 0.0) >= self._refresh_every:
                self._health_dirty.add(name)

    def flush_health(self) -> None:
        names, self._health_dirty = self._health_dirty, set()
        now = time.monotonic()
        for name in names:
            m = self.monitors.get(name)
            if m is None:
                continue
            record = self._health_record(m)
            try:
                record.write(name)
            except OSError as exc:
                log.error("cannot write the health record of %s: %s", name, exc)
                continue
            self._health_written[name] = now

    def _health_record(self, m: Monitor) -> HealthRecord:
        last = m.last
        return health.build(
            m.reg, state=m.state, since=m.since, last_check=m.last_at,
            latency=last.latency if last else None,
            detail=last.detail if last else ("" if m.error is None else m.error),
            weight=m.kernel_weight, engine_pid=self.pid, error=m.error or m.kernel_error,
            consecutive_failures=m.consecutive_failures, flaps=m.flaps)

    def write_metrics(self, status: dict) -> None:
        """The metrics file, from what the health records would say now."""
        if self.metrics is None:
            return
        from lvsocf.metrics import families, files

        records = {name: self._health_record(m) for name, m in self.monitors.items()}
        files.write(self.metrics, families.exposition(records, status, time.time()))

    def _checks_rate(self) -> None:
        now = time.monotonic()
        mark, self._rate_mark = self._rate_mark, (self.stats.checks, now)
        if mark is not None and now > mark[1]:
            self._rate = round((self.stats.checks - mark[0]) / (now - mark[1]), 3)

    @property
    def status_name(self) -> str:
        """The engine status record: `status`, or `status-I` for worker I of a supervisor."""
        return "status" if self.shard is None else f"status-{self.shard.index + 1}"

    def status(self) -> dict:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return {
            "pid": self.pid, "started": self.started, "registrations": len(self.monitors),
            "shard": None if self.shard is None else str(self.shard),
            "checks": self.stats.checks, "failures": self.stats.failures,
            "inconclusive": self.stats.inconclusive,
            "lateness_p50": self.stats.percentile(50), "lateness_p95": self.stats.percentile(95),
            "cpu_seconds": usage.ru_utime + usage.ru_stime + children.ru_utime
            + children.ru_stime,
            "max_rss_kib": usage.ru_maxrss, "attrd": self.attrd.available, "at": time.time(),
            "healthy": sum(1 for m in self.monitors.values() if m.state.healthy),
            "down": sum(1 for m in self.monitors.values()
                        if m.state.hard is HealthState.DOWN),
            "checks_per_second": self._rate,
            "interval_max": max((m.reg.check.interval for m in self.monitors.values()),
                                default=None),
        }

    async def _publisher(self) -> None:
        last_status = last_warning = last_metrics = 0.0
        while True:
            await asyncio.sleep(PUBLISH_EVERY)
            self._mark_stale_health(PUBLISH_EVERY)
            self.flush_health()
            now = time.monotonic()
            if self.metrics is not None and now - last_metrics >= self.metrics.interval:
                last_metrics = now
                self.write_metrics(self.status())
            if now - last_status < STATUS_EVERY:
                continue
            last_status = now
            self._checks_rate()
            status = self.status()
            try:
                state.write("engine", self.status_name, status)
            except OSError as exc:
                log.debug("status record: %s", exc)
            late = status["lateness_p95"]
            if late is not None and late > OVERLOADED and now - last_warning > 60:
                # A starved event loop also turns slow answers into timeouts (false downs).
                last_warning = now
                log.warning("overloaded: checks start %.1fs late (p95) with %d real servers; "
                            "use longer check intervals or fewer checks per node", late,
                            len(self.monitors))


