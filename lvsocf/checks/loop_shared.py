"""What checks share on an event loop: one object per loop (PerLoop), many deadlines behind
one asyncio timer (Deadlines; the engine's Timetable is built on it too), and how a check
in flight reports (report, fail_soon).

An asyncio timer per check would put thousands of TimerHandles in asyncio's heap, whose
comparisons run in Python.
"""
from __future__ import annotations

import asyncio
import bisect
import heapq
import logging
import math
import operator
import time
import weakref
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from .base import CheckResult

T = TypeVar("T")
log = logging.getLogger("lvsocf.checks")


class InFlight(Protocol):
    """A check in flight, as report() and fail_soon() see it."""

    started: float                          # time.monotonic() at its start
    done: Callable[[CheckResult], None]     # its caller's callback; ignore() once used


def ignore(result: CheckResult) -> None:
    return None


def report(probe: InFlight, result: CheckResult) -> None:
    """Hand `result` to the probe's callback, at most once (a cancelled probe's done is
    already ignore(); dropping the callback also drops the caller's references)."""
    done, probe.done = probe.done, ignore
    try:
        done(result)
    except Exception:
        log.exception("a check's result callback failed")


P = TypeVar("P", bound=InFlight)


def fail_soon(probe: P, detail: str) -> P:
    """Report a failure on the next loop iteration: a check never reports from inside the
    call that started it."""
    result = CheckResult(False, time.monotonic() - probe.started, detail)
    asyncio.get_running_loop().call_soon(report, probe, result)
    return probe


class Deadlines(Generic[T]):
    """Many deadlines behind one asyncio timer, which is armed for the earliest of them.

    Deadlines are kept in 10 ms slots, a dict of lists: adding one is an append, and only the
    slot numbers (ints, compared in C) are in a heap. A heap of all deadlines cost a
    Python-level comparison of tuples some twenty times per deadline. A firing sorts each
    due slot by time, so items expire in time order and never earlier than `slack` seconds
    before their time. Deadlines are never withdrawn: expire() ignores a finished item.
    """

    def __init__(self, expire: Callable[[T, float], None], slack: float = 0.0) -> None:
        self._expire = expire
        self.slack = slack
        self._slots: dict[int, list[tuple[float, T]]] = {}
        self._order: list[int] = []         # heap of the slots in _slots
        self._handle: asyncio.TimerHandle | None = None
        self._armed_for = math.inf

    def at(self, when: float, item: T) -> None:
        """expire(item, now) at the loop's time `when` (time.monotonic())."""
        slot = int(when * SLOTS_PER_SECOND)
        entries = self._slots.get(slot)
        if entries is None:
            self._slots[slot] = [(when, item)]
            heapq.heappush(self._order, slot)
        else:
            entries.append((when, item))
        if when < self._armed_for:
            self._arm(when)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._slots.clear()
        self._order.clear()
        self._armed_for = math.inf

    def _arm(self, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._armed_for = when
        self._handle = asyncio.get_running_loop().call_at(when, self._fire)

    def _fire(self) -> None:
        self._handle = None
        self._armed_for = math.inf
        now = asyncio.get_running_loop().time()
        limit = now + self.slack
        last = int(limit * SLOTS_PER_SECOND)
        order, slots, expire = self._order, self._slots, self._expire
        while order and order[0] <= last:
            slot = order[0]
            entries = slots[slot]
            entries.sort(key=_when)
            partly = entries[-1][0] > limit     # only the last slot can be partly due
            if partly:
                cut = bisect.bisect_right(entries, limit, key=_when)
                due = entries[:cut]
                del entries[:cut]               # the rest stays in its slot, in order
            else:
                heapq.heappop(order)
                del slots[slot]
                due = entries
            for _, item in due:
                expire(item, now)
            if partly:
                break       # what expire() added for now has armed the timer (at())
        if order:
            earliest = min(slots[order[0]], key=_when)[0]
            if earliest != self._armed_for:     # expire() may have armed for it already
                self._arm(earliest)


_when = operator.itemgetter(0)
SLOTS_PER_SECOND = 100


class PerLoop(Generic[T]):
    """One T per event loop, made by `factory(loop)` on first use and gone with its loop."""

    def __init__(self, factory: Callable[[asyncio.AbstractEventLoop], T]) -> None:
        self._factory = factory
        self._made: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = \
            weakref.WeakKeyDictionary()

    def get(self) -> T:
        """The running loop's T (a factory that raises makes nothing: the next get() retries)."""
        loop = asyncio.get_running_loop()
        found = self._made.get(loop)
        if found is None:
            found = self._made[loop] = self._factory(loop)
        return found

    def peek(self) -> T | None:
        """The running loop's T if it has one; None outside a running loop."""
        try:
            return self._made.get(asyncio.get_running_loop())
        except RuntimeError:
            return None
