"""What checks share per event loop: one object per loop (PerLoop), and many deadlines behind
one asyncio timer (Sweeper).

An asyncio timer per check in flight would put thousands of TimerHandles in asyncio's heap,
whose comparisons run in Python. Here a deadline is a (when, seq, item) tuple in a heap that
compares floats in C, and asyncio holds one timer: the earliest deadline's.
"""
from __future__ import annotations

import asyncio
import heapq
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Sweeper(Generic[T]):
    def __init__(self, expire: Callable[[T, float], None]) -> None:
        """`expire(item, now)` is called for each item whose deadline has passed. Deadlines are
        never withdrawn: expire must ignore an item that has finished meanwhile."""
        self._expire = expire
        self._heap: list[tuple[float, int, T]] = []
        self._seq = 0
        self._next = float("inf")
        self._token = 0         # only the newest armed timer does anything

    def at(self, when: float, item: T) -> None:
        """Expire `item` at time.monotonic() `when` (asyncio's loop clock)."""
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, item))
        if when < self._next:
            self._arm(when)

    def _arm(self, when: float) -> None:
        self._next = when
        self._token += 1
        asyncio.get_running_loop().call_at(when, self._sweep, self._token)

    def _sweep(self, token: int) -> None:
        if token != self._token:
            return
        now = asyncio.get_running_loop().time()
        heap = self._heap
        expire = self._expire
        while heap and heap[0][0] <= now:   # at() called by expire() arms nothing meanwhile
            expire(heapq.heappop(heap)[2], now)
        self._next = float("inf")
        if heap:
            self._arm(heap[0][0])


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
