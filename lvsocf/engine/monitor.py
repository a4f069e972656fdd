"""One registration's checks: its checker, its rise/fall state and its check loop.

Checks run at a fixed rate (start to start, `interval` apart); a check that takes longer
than the interval is followed at once by the next, never by a burst of catch-ups.
How late each check starts compared with its schedule is recorded for the status record.
"""
from __future__ import annotations

import asyncio
import math
import random
import time
from collections import deque
from collections.abc import Callable
from time import monotonic

from lvsocf.checks import CheckConfigError, Checker, CheckResult, build_checker
from lvsocf.checks.base import Cancellable, check_starter, release
from lvsocf.checks.state import HealthState, RiseFall, Transition
from lvsocf.engine.health import Resume
from lvsocf.engine.lag import LagMeter
from lvsocf.engine.registry import Registration
from lvsocf.engine.sharing import CheckGroups
from lvsocf.engine.timetable import Entry, Timetable
from lvsocf.engine.weights import Verdict


class Stats:
    """Engine-wide counters: checks run and how late they started (seconds)."""

    def __init__(self, keep: int = 5000) -> None:
        self.checks = 0
        self.failures = 0
        self.inconclusive = 0       # timeouts left out because the engine itself stalled
        self.lateness: deque[float] = deque(maxlen=keep)

    def percentile(self, p: float) -> float | None:
        if not self.lateness:
            return None
        ordered = sorted(self.lateness)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


OnResult = Callable[["Monitor", CheckResult, Transition], None]     # on each state change


class Monitor:
    def __init__(self, reg: Registration, resume: Resume, on_result: OnResult,
                 stats: Stats, timetable: Timetable, lag: LagMeter | None = None,
                 groups: CheckGroups | None = None) -> None:
        self.reg = reg
        self.groups = groups or CheckGroups()    # shared checks (engine.sharing)
        self.timetable = timetable
        self.on_result = on_result
        self.stats = stats
        self.lag = lag
        self.error: str | None = None
        self.checker: Checker | None = None
        self._build()
        self.rf = RiseFall(reg.check.rise, reg.check.fall, initial=resume.state)
        self.since = resume.since if resume.since is not None else time.time()
        self.pending_add = resume.pending_add
        self.flaps = resume.flaps       # hard state changes (lvsocf_real_server_flaps_total)
        self.last: CheckResult | None = None
        self.last_at: float | None = None
        self.kernel_weight: int | None = None
        self.kernel_error: str | None = None
        self.observed = False       # kernel_weight has been read from the kernel
        self._timer: Entry | None = None
        self._inflight: Cancellable | None = None
        self._start_check: Callable[[float, Callable[[CheckResult], None]], Cancellable] | None \
            = None
        self._due = self._began = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None

    def _build(self) -> None:
        try:
            self.checker = build_checker(self.reg.check.kind, self.reg.target,
                                         self.reg.check.option_map)
            self.error = None
        except CheckConfigError as exc:
            self.checker = None
            self.error = f"check: {exc}"

    @property
    def name(self) -> str:
        return self.reg.name

    @property
    def state(self) -> HealthState:
        return self.rf.state

    @property
    def consecutive_failures(self) -> int:
        return self.rf.counters.consecutive_fail

    def verdict(self, ramp: int | None = None) -> Verdict:
        return Verdict(self.reg, self.rf.state.hard, self.pending_add, ramp)

    # -- lifecycle
    def start(self, first_delay: float | None = None) -> None:
        self.stop()
        if self.checker is None or not self.groups.join(self):
            return              # no check, or another member of its group runs it
        self._lead(first_delay)

    def _lead(self, first_delay: float | None = None) -> None:
        assert self.checker is not None
        if first_delay is None:
            first_delay = random.uniform(0, min(self.reg.check.interval, 1.0))
        self._loop = asyncio.get_running_loop()
        self._start_check = check_starter(self.checker)
        self._due = self._loop.time() + first_delay
        self._timer = self.timetable.at(self._due, self._begin)

    def stop(self) -> None:
        successor = self.groups.leave(self)
        if successor is not None:
            successor._lead()
        if self._timer is not None:
            Timetable.cancel(self._timer)
            self._timer = None
        if self._inflight is not None:
            self._inflight.cancel()
            self._inflight = None
        if self.checker is not None:
            release(self.checker)

    def reconfigure(self, reg: Registration) -> bool:
        """Take a changed registration of the same real server, keeping the health state
        (keepalived's reload migrates checker state the same way). True when the check itself
        changed and was restarted."""
        old = self.reg
        self.reg = reg
        if old.check == reg.check and old.server.address == reg.server.address:
            return False
        if (old.check.rise, old.check.fall) != (reg.check.rise, reg.check.fall):
            self.rf = RiseFall(reg.check.rise, reg.check.fall, initial=self.rf.state.hard)
        self.stop()             # the old checker lets go of what it holds
        self._build()
        self.start()
        return True

    # -- one check after the other, `interval` apart (callbacks, no task per real server)
    def _begin(self) -> None:
        self._timer = None
        self._began = began = monotonic()     # the clock of asyncio's loop.time()
        self.stats.lateness.append(began - self._due if began > self._due else 0.0)
        self._inflight = self._start_check(self.reg.check.timeout, self._finished)

    def _finished(self, result: CheckResult) -> None:
        self._inflight = None
        now = monotonic()
        self.stats.checks += 1
        if not result.ok and self._starved(result, self._began, now):
            self.stats.inconclusive += 1
            result = CheckResult(False, result.latency,
                                 f"inconclusive, engine overloaded: {result.detail}")
            conclusive = False
        else:
            conclusive = True
            if not result.ok:
                self.stats.failures += 1
        for m in [self, *self.groups.followers(self)]:
            m.take(result, conclusive)
        if self._inflight is not None or self._timer is not None or \
                not self.groups.leads(self):
            return              # on_result restarted or stopped this monitor
        interval = self.reg.check.interval
        due = self._due + interval
        if due < now:       # late: skip whole intervals, keeping this server's phase
            due += math.ceil((now - due) / interval) * interval
        self._due = due
        self._timer = self.timetable.at(due, self._begin)

    def take(self, result: CheckResult, conclusive: bool = True) -> None:
        """One check result of this monitor's check (run by it, or by the leader of its
        group): through the rise/fall state unless it proves nothing."""
        self.last, self.last_at = result, time.time()
        if not conclusive:
            return
        transition = self.rf.observe(result.ok)
        if transition is not None:
            if transition.hard:
                self.since = self.last_at
                self.flaps += 1
            self.on_result(self, result, transition)

    def _starved(self, result: CheckResult, began: float, now: float) -> bool:
        """A timeout during which the engine's own loop stalled for a quarter of the timeout
        or more proves nothing about the real server."""
        if self.lag is None or result.latency < 0.9 * self.reg.check.timeout:
            return False
        return self.lag.worst_since(began, now) >= 0.25 * self.reg.check.timeout
