"""The check engine: every registered real server's checks on one event loop, and the
weights that follow from them.

- Registrations come from the `realservers` records (polled every `poll` seconds through the
  directory's mtime, or at once on poke(), i.e. SIGHUP from an agent).
- Each registration gets a Monitor (checker + rise/fall) resumed from its health record.
- Hard transitions mark the service dirty; one applier reconciles dirty services in a batch:
  only registered entries are touched, then the fallback server follows. The engine is the
  only writer of real-server entries: a draining registration (IPVSRealServer's stop) gets
  weight 0 and is removed once idle or at its deadline (registrations.py); the fallback of a
  service with no registration follows the table too.
- A change in the `services` records (a service created, re-created or removed) reconciles
  every service: a service restarted in place gets its registered real servers back at once.
- Health records (and Pacemaker node attributes) publish what the engine sees.
Stopping or dying changes nothing in the kernel: weights stay where they are.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from lvsocf.checks import CheckResult
from lvsocf.checks.state import Transition
from lvsocf.engine import registry, weights
from lvsocf.engine.attrd import Attrd
from lvsocf.engine.fallbacks import FallbackHistory
from lvsocf.engine.idle import IdleTimer
from lvsocf.engine.lag import LagMeter
from lvsocf.engine.monitor import Monitor, Stats
from lvsocf.engine.publish import Publishing
from lvsocf.engine.registrations import Registrations
from lvsocf.engine.sharing import CheckGroups
from lvsocf.engine.slowstart import SlowStart
from lvsocf.engine.timetable import Timetable
from lvsocf.ipvs import errors, protocol
from lvsocf.ipvs.fallback import plan_fallback
from lvsocf.ipvs.model import RealServer, RealServerInfo, ServiceKey
from lvsocf.ipvs.op import Op
from lvsocf.metrics.files import Settings as MetricsSettings
from lvsocf.records import ServiceRecord

log = logging.getLogger("lvsocf.engine")
RETRY = 2.0              # seconds before a failed kernel change is tried again
APPLY_MIN_PAUSE, APPLY_MAX_PAUSE = 0.02, 1.0
BATCH_SLACK = 0.02       # checks due within 20 ms start together (a check may start early)
_OP_VERBS = {protocol.CMD_NEW_DEST: "added", protocol.CMD_SET_DEST: "edited",
             protocol.CMD_DEL_DEST: "removed"}


class Kernel(Protocol):
    """What the engine needs of lvsocf.ipvs.netlink.Ipvs."""

    def real_servers(self, key: ServiceKey, stats: bool = True) -> list[RealServerInfo]: ...
    def apply(self, ops: Sequence[Op]) -> list[errors.IpvsError | None]: ...
    def close(self) -> None: ...


class Engine(Registrations, Publishing):
    def __init__(self, kernel_factory: Callable[[], Kernel], *, poll: float = 0.5,
                 idle_exit: float | None = None, attrd: Attrd | None = None,
                 health_refresh: float = 10.0, pid: int | None = None,
                 shard: registry.Shard | None = None,
                 metrics: MetricsSettings | None = None) -> None:
        """`shard`: this engine is one of several workers and runs only that share of the
        registrations (lvsocf.engine.supervisor); None: it runs all of them. `metrics`:
        where and how often to write the Prometheus metrics file (None: never)."""
        self.kernel_factory = kernel_factory
        self.shard = shard
        self.poll = poll
        self.idle_exit = idle_exit
        self.attrd = attrd or Attrd(enabled=False)
        self.health_refresh = health_refresh
        self.metrics = metrics
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
        self._draining: set[str] = set()     # registrations whose stop drains them
        self._fallback_history = FallbackHistory()
        self.slow_start = SlowStart(lambda key: self._mark(key, reconcile=True))
        self.check_groups = CheckGroups()       # registrations that share one check

    # -- control
    def poke(self) -> None:
        """Re-read the registrations now (SIGHUP)."""
        self._poke.set()

    def request_stop(self, reason: str = "") -> None:
        self.stop_reason = self.stop_reason or reason
        self._stopping.set()

    # -- results
    def _on_result(self, m: Monitor, result: CheckResult, transition: Transition) -> None:
        if transition.hard:
            level = logging.INFO if transition.new.healthy else logging.WARNING
            log.log(level, "%s: %s (%s)", m.reg, transition, result.detail)
            self.slow_start.on_hard(m, transition.new.hard)
            self._mark(m.reg.key, reconcile=True)
            self.attrd.set(m.name, m.state.value)
        else:
            log.info("%s: %s (%s)", m.reg, transition, result.detail)
        self._health_dirty.add(m.name)

    # -- kernel
    def reconcile_all(self) -> None:
        """A service was created, re-created or removed (IPVSService writes or removes its
        record): put every real server back as its verdict says, at once. A service
        restarted in place gets its real servers back without any agent action."""
        for key in self._by_key:
            self._mark(key, reconcile=True)
        for key in self._fallbacks().keys() | self._fallback_history.keys():
            self._mark(key, reconcile=True)

    def _fallbacks(self) -> dict[ServiceKey, RealServer]:
        return weights.fallbacks(ServiceRecord.all().values())

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
        fallbacks = self._fallbacks()
        retry: dict[ServiceKey, bool] = {}
        for key, reconcile in sorted(dirty.items(), key=lambda item: str(item[0])):
            monitors = [m for m in self._by_key.get(key, {}).values()
                        if m.checker is not None or m.name in self._draining]
            retired = self._fallback_history.note(key, fallbacks.get(key))
            if not monitors:
                if reconcile and (key in fallbacks or retired is not None):
                    self._fallback_only(key, fallbacks.get(key), retired)
                continue
            try:
                self._apply_service(key, reconcile, monitors, fallbacks.get(key), retired)
            except errors.NotFound:
                for m in monitors:
                    if m.name in self._draining:
                        self._drained(m)        # no service, no entry: nothing to drain
                    else:
                        self._kernel_state(m, None, f"service {key} does not exist")
                if key in self._by_key:
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
                       fallback: RealServer | None, retired: RealServer | None) -> None:
        k = self._get_kernel()
        actual = k.real_servers(key, stats=False)    # counters: not needed
        failures: dict[str, str] = {}
        if reconcile:
            verdicts = [m.verdict(self.slow_start.weight(m)) for m in monitors]
            plan = weights.plan_service(key, verdicts, actual)
            failures = self._run(k, plan.ops, monitors)
            drained = [m for m in monitors if m.name in plan.drained and m.name not in failures]
            # A dump of a big service costs more than the whole plan: read it again only
            # when an op failed and the table is not what the plan says.
            actual = k.real_servers(key, stats=False) if failures else plan.after
            fb_plan = plan_fallback(key, fallback, actual, retired, self._owned(key))
            if self.shard is not None and plan.ops and not fb_plan:
                self._recheck_fallback(key, fallback, monitors, actual)
            self._apply_fallback(k, key, fb_plan)
            for m in drained:
                self._drained(m)
            monitors = [m for m in monitors if m not in drained]
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

    def _owned(self, key: ServiceKey) -> set[tuple]:
        return {m.reg.server.ident for m in self._by_key.get(key, {}).values()}

    def _apply_fallback(self, k: Kernel, key: ServiceKey, fb_plan: list[Op]) -> None:
        for op, err in zip(fb_plan, k.apply(fb_plan) if fb_plan else [], strict=True):
            verb = "in" if op.cmd == protocol.CMD_NEW_DEST else "out"
            if err is None:
                log.info("fallback %s: %s", verb, op.what)
            elif not isinstance(err, errors.Exists | errors.NotFound):
                log.warning("fallback %s: %s", verb, err)
        self._fallback_history.taken_out(key)

    def _fallback_only(self, key: ServiceKey, fallback: RealServer | None,
                       retired: RealServer | None) -> None:
        """A service with a fallback and no registration here: the fallback follows the
        table (in while nothing has weight). Every worker may do it: the same table gives
        the same plan, and a second add or delete is harmless."""
        try:
            k = self._get_kernel()
            actual = k.real_servers(key, stats=False)
            fb_plan = plan_fallback(key, fallback, actual, retired, self._owned(key))
            self._apply_fallback(k, key, fb_plan)
        except errors.NotFound:
            pass                # the service is gone: its record goes with it
        except (errors.IpvsError, OSError) as exc:
            log.error("%s: fallback: %s", key, exc)
            self._retry_later({key: True})

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

    def _task_ended(self, task: asyncio.Task) -> None:
        """A loop task that ends before stop (an unexpected exception) would leave the engine
        half alive: checking, but no longer writing the kernel, which no monitor sees. Stop
        instead: the next IPVSRealServer monitor starts a new engine, weights untouched."""
        if task.cancelled() or self._stopping.is_set() or task.exception() is None:
            return          # some tasks end by design (attrd without Pacemaker)
        exc = task.exception()
        log.error("engine task %s ended: %r", task.get_name(), exc, exc_info=exc)
        self.request_stop(f"task {task.get_name()} failed: {exc!r}")

    # -- the loop
    async def run(self, ready: Callable[[], None] | None = None) -> str:
        """Run until request_stop(); returns the reason."""
        self.sync()
        for key in self._fallbacks().keys() - self._by_key.keys():
            self._mark(key, reconcile=True)
        self.apply()
        self.flush_health()
        if ready is not None:
            ready()
        tasks = [asyncio.create_task(coro, name=name) for name, coro in (
            ("watch", self._watch()), ("apply", self._applier()),
            ("publish", self._publisher()), ("attrd", self.attrd.run()),
            ("lag", self.lag.run()), ("slow start", self.slow_start.run(self.monitors)))]
        for t in tasks:
            t.add_done_callback(self._task_ended)
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
            for name in self._draining:     # watch the connections of draining entries
                self._mark(self.monitors[name].reg.key, reconcile=True)
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


class _Retry(Exception):
    """Some op of a service failed: try the service again later."""


def _names(op: Op, m: Monitor) -> bool:
    return op.names(m.reg.key, m.reg.server)
