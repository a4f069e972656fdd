"""The rise/fall (soft/hard) state machine that every check shares.

A real server starts UNKNOWN. `rise` consecutive successes make it UP, `fall` consecutive
failures make it DOWN; those are the hard transitions that change weights. While UP, a failure
gives SOFT_DOWN (still healthy, log only) until `fall` consecutive failures; while DOWN, a success
gives SOFT_UP (still unhealthy) until `rise` consecutive successes. A restarted engine resumes
with `initial=` the last published hard state, so a healthy server stays healthy until it has
really failed `fall` times.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum


class HealthState(Enum):
    UNKNOWN = "unknown"
    UP = "up"
    SOFT_DOWN = "soft_down"   # was UP, failing, fewer than `fall` consecutive failures
    DOWN = "down"
    SOFT_UP = "soft_up"       # was DOWN, succeeding, fewer than `rise` consecutive successes

    @property
    def healthy(self) -> bool:
        """Counts as up for weights."""
        return self in (HealthState.UP, HealthState.SOFT_DOWN)

    @property
    def hard(self) -> HealthState:
        """The hard state this (possibly soft) state stands for."""
        if self is HealthState.SOFT_DOWN:
            return HealthState.UP
        if self is HealthState.SOFT_UP:
            return HealthState.DOWN
        return self


_UP, _DOWN = HealthState.UP, HealthState.DOWN


@dataclass(frozen=True)
class Transition:
    old: HealthState
    new: HealthState
    hard: bool      # True when the hard state changed (UNKNOWN/UP/DOWN); weights follow these
    at: float       # monotonic time

    def __str__(self) -> str:
        return f"{self.old.value} -> {self.new.value}{' (hard)' if self.hard else ''}"


@dataclass(frozen=True)
class Counters:
    consecutive_ok: int
    consecutive_fail: int
    total_ok: int
    total_fail: int


class RiseFall:
    """Consecutive-result hysteresis: observe(ok) per check result, read state/healthy."""

    def __init__(self, rise: int, fall: int, initial: HealthState = HealthState.UNKNOWN,
                 clock: Callable[[], float] = time.monotonic) -> None:
        for name, value in (("rise", rise), ("fall", fall)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
        self.rise = rise
        self.fall = fall
        self._clock = clock
        # Resuming from a soft state resumes from its hard state; the streak is not persisted.
        self._state = initial.hard
        self._ok = 0        # consecutive successes
        self._fail = 0      # consecutive failures
        self._total_ok = 0
        self._total_fail = 0
        self.since: float = clock()   # monotonic time of the last hard transition (or creation)

    @property
    def state(self) -> HealthState:
        return self._state

    @property
    def healthy(self) -> bool:
        return self._state.healthy

    @property
    def counters(self) -> Counters:
        return Counters(self._ok, self._fail, self._total_ok, self._total_fail)

    def observe(self, ok: bool) -> Transition | None:
        """Feed one check result; return the state change it caused, if any."""
        old = self._state
        if ok:
            self._ok += 1
            self._fail = 0
            self._total_ok += 1
            if old is _UP:
                return None     # the steady states end here: the engine's hot path
        else:
            self._fail += 1
            self._ok = 0
            self._total_fail += 1
            if old is _DOWN:
                return None
        new = self._next(old, ok)
        if new is old:
            return None
        self._state = new
        now = self._clock()
        hard = new.hard is not old.hard
        if hard:
            self.since = now
        return Transition(old, new, hard, now)

    def _next(self, state: HealthState, ok: bool) -> HealthState:
        S = HealthState
        if ok:
            if state in (S.UP, S.SOFT_DOWN):
                return S.UP
            if self._ok >= self.rise:
                return S.UP
            return S.SOFT_UP if state in (S.DOWN, S.SOFT_UP) else S.UNKNOWN
        if state in (S.DOWN, S.SOFT_UP):
            return S.DOWN
        if self._fail >= self.fall:
            return S.DOWN
        return S.SOFT_DOWN if state in (S.UP, S.SOFT_DOWN) else S.UNKNOWN

    def __repr__(self) -> str:
        return (f"RiseFall(rise={self.rise}, fall={self.fall}, state={self._state.value}, "
                f"ok={self._ok}, fail={self._fail})")
