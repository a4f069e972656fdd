"""The check engine: every registered real server's checks on one event loop, and the
weights that follow from them.

- Registrations come from the `realservers` records (polled every `poll` seconds through the
  directory's mtime, or at once on poke(), i.e. SIGHUP from an agent).
- Each registration gets a Monitor (checker + rise/fall) resumed from its health record.
- Hard transitions mark the service dirty; one applier reconciles dirty services in a batch:
  only registered entries are touched, then the fallback server follows.
- A change in the `services` records (a service created, re-created or removed) reconciles
  every service: a service restarted in place gets its registered real servers back at once.
- Health records (and Pacemaker node attributes) publish what the engine sees.
Stopping or dying changes nothing in the kernel: weights stay where they are.
"""
from __future__ import annotations

import asyncio
import logging
import math
import os
import random
import resource
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from lvsocf import state
from lvsocf.checks import CheckResult
from lvsocf.checks.state import HealthState, Transition
from lvsocf.engine import health, registry, weights
from lvsocf.engine.attrd import Attrd
from lvsocf.engine.idle import IdleTimer
from lvsocf.engine.lag import LagMeter
from lvsocf.engine.monitor import Monitor, Stats
from lvsocf.engine.registry import Registration
from lvsocf.engine.timetable import Timetable
from lvsocf.ipvs import errors, protocol
from lvsocf.ipvs.fallback import plan_fallback
from lvsocf.ipvs.model import RealServer, RealServerInfo, ServiceKey
from lvsocf.ipvs.netlink import Op
from lvsocf.records import ServiceRecord

log = logging.getLogger("lvsocf.engine")
RETRY = 2.0              # seconds before a failed kernel change is tried again
STATUS_EVERY = 5.0
PUBLISH_EVERY = 0.2      # seconds between writes of changed health records
APPLY_MIN_PAUSE, APPLY_MAX_PAUSE = 0.02, 1.0
INITIAL_RATE = 200.0     # first checks per second of registrations that arrive together
BATCH_SLACK = 0.02       # checks due within 20 ms start together (a check may start early)
OVERLOADED = 1.0         # p95 seconds of check lateness that earns a warning
REFRESH_WRITES = 50.0    # health records rewritten per second at most just to refresh
                         # last_check/latency (changes are written at once)
_OP_VERBS = {protocol.CMD_NEW_DEST: "added", protocol.CMD_SET_DEST: "edited",
             protocol.CMD_DEL_DEST: "removed"}


class Kernel(Protocol):
    """What the engine needs of lvsocf.ipvs.netlink.Ipvs."""

    def real_servers(self, key: ServiceKey) -> list[RealServerInfo]: ...
    def apply(self, ops: Sequence[Op]) -> list[errors.IpvsError | None]: ...
    def close(self) -> None: ...


class Engine:
    def __init__(self, kernel_factory: Callable[[], Kernel], *, poll: float = 0.5,
                 idle_exit: float | None = None, attrd: Attrd | None = None,
                 health_refresh: float = 10.0, pid: int | None = None,
                 shard: registry.Shard | None = None) -> None:
        """`shard`: this engine is one of several workers and runs only that share of the
        registrations (lvsocf.engine.supervisor); None: it runs all of them."""
        self.kernel_factory = kernel_factory
        self.shard = shard
        self.poll = poll
        self.idle_exit = idle_exit
        self.attrd = attrd or Attrd(enabled=False)
        self.health_refresh = health_refresh
        self.pid = pid if pid is not None else os.getpid()
        self.records = registry.RecordDir(shard=shard)
        self.services = registry.DirWatch(ServiceRecord.KIND)
        self.monitors: dict[str, Monitor] = {}
        self._by_key: dict[ServiceKey, dict[str, Monitor]] = {}
        self.stats = Stats()
        self.timetable = Timetable(slack=BATCH_SLACK)
        self.lag = LagMeter()
        self.started = time.time()
        self.stop_reason = ""
        self._kernel: Kernel | None = None
        self._dirty: dict[ServiceKey, bool] = {}     # key -> reconcile (True) or observe only
        self._health_dirty: set[str] = set()
        self._health_written: dict[str, float] = {}
        self._refresh_every = health_refresh   # seconds between refreshes of one record
        self._refresh_order: list[str] = []
        self._refresh_next = 0
        self._wake_apply = asyncio.Event()
        self._poke = asyncio.Event()
        self._stopping = asyncio.Event()
        self._idle = IdleTimer(idle_exit)
        self._retry_handle: asyncio.TimerHandle | None = None
        self._retry_keys: dict[ServiceKey, bool] = {}

    # -- control
    def poke(self) -> None:
        """Re-read the registrations now (SIGHUP)."""
        self._poke.set()

    def request_stop(self, reason: str = "") -> None:
        self.stop_reason = self.stop_reason or reason
        self._stopping.set()

    # -- registrations
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
        record = state.read(health.KIND, reg.name)
        resume = health.resume_from(reg, record)
        m = Monitor(reg, resume, self._on_result, self.stats, self.timetable, self.lag)
        self.monitors[reg.name] = m
        self._by_key.setdefault(reg.key, {})[reg.name] = m
        self._health_dirty.add(reg.name)
        self.attrd.set(reg.name, m.state.value)
        if m.error:
            log.error("%s: not checked: %s", reg, m.error)
            return
        resumed = not resume.pending_add and record is not None
        changed_meanwhile = resumed and record.get("registration") != reg.digest
        self._mark(reg.key, reconcile=not resumed or changed_meanwhile)
        if resumed:
            log.info("%s: resumed %s (%s check every %gs)", reg, resume.state.value,
                     reg.check.kind, reg.check.interval)
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
        state.remove(health.KIND, reg.name)
        self.attrd.delete(reg.name)
        log.info("deregistered %s", reg)

    def _change(self, old: Registration, reg: Registration) -> None:
        m = self.monitors[reg.name]
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

    def _warn_duplicates(self) -> None:
        seen: dict[tuple, str] = {}
        for name, m in sorted(self.monitors.items()):
            other = seen.setdefault(m.reg.ident, name)
            if other != name:
                log.warning("%s and %s register the same real server %s of %s", other, name,
                            m.reg.server, m.reg.key)

    # -- results
    def _on_result(self, m: Monitor, result: CheckResult, transition: Transition) -> None:
        if transition.hard:
            level = logging.INFO if transition.new.healthy else logging.WARNING
            log.log(level, "%s: %s (%s)", m.reg, transition, result.detail)
            self._mark(m.reg.key, reconcile=True)
            self.attrd.set(m.name, m.state.value)
        else:
            log.info("%s: %s (%s)", m.reg, transition, result.detail)
        self._health_dirty.add(m.name)

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

    # -- kernel
    def reconcile_all(self) -> None:
        """A service was created, re-created or removed (IPVSService writes or removes its
        record): put every real server back as its verdict says, at once. A service
        restarted in place gets its real servers back without any agent action."""
        for key in self._by_key:
            self._mark(key, reconcile=True)

    def _mark(self, key: ServiceKey, reconcile: bool) -> None:
        self._dirty[key] = self._dirty.get(key, False) or reconcile
        self._wake_apply.set()

    def _get_kernel(self) -> Kernel:
        if self._kernel is None:
            self._kernel = self.kernel_factory()
        return self._kernel

    def apply(self) -> None:
        """Reconcile (or just observe) every dirty service."""
        dirty, self._dirty = self._dirty, {}
        if not dirty:
            return
        fallbacks = weights.fallbacks(ServiceRecord.all().values())
        retry: dict[ServiceKey, bool] = {}
        for key, reconcile in sorted(dirty.items(), key=lambda item: str(item[0])):
            monitors = [m for m in self._by_key.get(key, {}).values()
                        if m.checker is not None]
            if not monitors:
                continue
            try:
                self._apply_service(key, reconcile, monitors, fallbacks.get(key))
            except errors.NotFound:
                for m in monitors:
                    self._kernel_state(m, None, f"service {key} does not exist")
                retry[key] = reconcile
            except (errors.IpvsError, OSError) as exc:
                log.error("%s: %s", key, exc)
                for m in monitors:
                    m.kernel_error = str(exc)
                    self._health_dirty.add(m.name)
                retry[key] = reconcile
                if self._kernel is not None:
                    self._kernel.close()
                self._kernel = None
            except _Retry:
                retry[key] = True
        if retry:
            self._retry_later(retry)

    def _apply_service(self, key: ServiceKey, reconcile: bool, monitors: list[Monitor],
                       fallback) -> None:
        k = self._get_kernel()
        actual = k.real_servers(key)
        failures: dict[str, str] = {}
        if reconcile:
            plan = weights.plan_service(key, [m.verdict() for m in monitors], actual)
            failures = self._run(k, plan.ops, monitors)
            # A dump of a big service costs more than the whole plan: read it again only
            # when an op failed and the table is not what the plan says.
            actual = k.real_servers(key) if failures else plan.after
            fb_plan = plan_fallback(key, fallback, actual)
            if self.shard is not None and plan.ops and not fb_plan:
                self._recheck_fallback(key, fallback, monitors, actual)
            for op, err in zip(fb_plan, k.apply(fb_plan) if fb_plan else [], strict=True):
                verb = "in" if op.cmd == protocol.CMD_NEW_DEST else "out"
                if err is None:
                    log.info("fallback %s: %s", verb, op.what)
                elif not isinstance(err, errors.Exists | errors.NotFound):
                    log.warning("fallback %s: %s", verb, err)
        have = {info.real_server.ident: info.real_server.weight for info in actual}
        for m in monitors:
            weight = have.get(m.reg.server.ident)
            if m.observed and weight != m.kernel_weight:
                log.info("%s: weight %s -> %s", m.reg,
                         "none" if m.kernel_weight is None else m.kernel_weight,
                         "none (removed)" if weight is None else weight)
            elif not m.observed and weight is not None and reconcile and m.pending_add:
                log.info("%s: in the kernel with weight %s", m.reg, weight)
            self._kernel_state(m, weight, failures.get(m.name))
        if failures:
            raise _Retry

    def _recheck_fallback(self, key: ServiceKey, fallback: RealServer | None,
                          monitors: list[Monitor], actual: list[RealServerInfo]) -> None:
        """Another worker owns the rest of the service. If our servers just lost all weight
        and the fallback stays out because the others have weight, both workers may have read
        the table before either wrote: look once more when both writes have landed."""
        if fallback is None or any(i.real_server.ident == fallback.ident for i in actual):
            return
        own = {m.reg.server.ident for m in monitors}
        if not any(i.real_server.weight > 0 for i in actual if i.real_server.ident in own):
            self._retry_later({key: True})

    def _run(self, k: Kernel, plan: list[Op], monitors: list[Monitor]) -> dict[str, str]:
        failures: dict[str, str] = {}
        if not plan:
            return failures
        for op, err in zip(plan, k.apply(plan), strict=True):
            if err is None:
                log.debug("%s %s", _OP_VERBS.get(op.cmd, "changed"), op.what)
                continue
            log.warning("%s", err)
            named = [m.name for m in monitors if _names(op, m)]
            for name in named or ["*"]:        # "*": still retried, attributed to nobody
                failures[name] = str(err)
        return failures

    def _kernel_state(self, m: Monitor, weight: int | None, error: str | None) -> None:
        if weight is not None:
            m.pending_add = False
        if (m.kernel_weight, m.kernel_error) != (weight, error) or not m.observed:
            self._health_dirty.add(m.name)
        m.kernel_weight, m.kernel_error, m.observed = weight, error, True

    def _retry_later(self, keys: dict[ServiceKey, bool]) -> None:
        for key, reconcile in keys.items():
            self._retry_keys[key] = self._retry_keys.get(key, False) or reconcile

        def again() -> None:
            self._retry_handle = None
            pending, self._retry_keys = self._retry_keys, {}
            for key, reconcile in pending.items():
                self._mark(key, reconcile)
        if self._retry_handle is None:
            self._retry_handle = asyncio.get_running_loop().call_later(RETRY, again)

    # -- publishing
    def flush_health(self) -> None:
        names, self._health_dirty = self._health_dirty, set()
        now = time.monotonic()
        for name in names:
            m = self.monitors.get(name)
            if m is None:
                continue
            last = m.last
            record = health.build(
                m.reg, state=m.state, since=m.since, last_check=m.last_at,
                latency=last.latency if last else None,
                detail=last.detail if last else ("" if m.error is None else m.error),
                weight=m.kernel_weight, engine_pid=self.pid,
                error=m.error or m.kernel_error)
            try:
                state.write(health.KIND, name, record)
            except OSError as exc:
                log.error("cannot write the health record of %s: %s", name, exc)
                continue
            self._health_written[name] = now

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
        }

    # -- the loop
    async def run(self, ready: Callable[[], None] | None = None) -> str:
        """Run until request_stop(); returns the reason."""
        self.sync()
        self.apply()
        self.flush_health()
        if ready is not None:
            ready()
        tasks = [asyncio.create_task(coro, name=name) for name, coro in (
            ("watch", self._watch()), ("apply", self._applier()),
            ("publish", self._publisher()), ("attrd", self.attrd.run()),
            ("lag", self.lag.run()))]
        try:
            await self._stopping.wait()
        finally:
            for t in tasks:
                t.cancel()
            for m in self.monitors.values():
                m.stop()
            self.timetable.close()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.flush_health()
            if self._kernel is not None:
                self._kernel.close()
        return self.stop_reason

    async def _watch(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self.poll):
                    await self._poke.wait()
            except TimeoutError:
                pass
            poked = self._poke.is_set()
            self._poke.clear()
            if poked or self.records.changed():
                self.sync()
            if self.services.changed():
                self.reconcile_all()
            self._check_idle()

    def _check_idle(self) -> None:
        if self._idle.expired(busy=bool(self.monitors)):
            self.request_stop(f"no registrations for {self.idle_exit:g}s")

    async def _applier(self) -> None:
        pause = APPLY_MIN_PAUSE
        while True:
            await self._wake_apply.wait()
            self._wake_apply.clear()
            # Gather the transitions of one moment in one batch; when applying is slow (a
            # big table on a busy node), batch more so checks keep most of the time.
            await asyncio.sleep(pause)
            began = time.monotonic()
            self.apply()
            self.flush_health()
            pause = min(APPLY_MAX_PAUSE, max(APPLY_MIN_PAUSE, 2 * (time.monotonic() - began)))

    async def _publisher(self) -> None:
        last_status = last_warning = 0.0
        while True:
            await asyncio.sleep(PUBLISH_EVERY)
            self._mark_stale_health(PUBLISH_EVERY)
            self.flush_health()
            now = time.monotonic()
            if now - last_status < STATUS_EVERY:
                continue
            last_status = now
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


class _Retry(Exception):
    """Some op of a service failed: try the service again later."""


def _names(op: Op, m: Monitor) -> bool:
    return op.names(m.reg.key, m.reg.server)
