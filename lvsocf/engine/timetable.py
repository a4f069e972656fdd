"""Many timers behind one asyncio timer.

asyncio keeps each call_at() as a TimerHandle in a heap whose comparisons run in Python;
with thousands of real servers checked every second those comparisons cost more than the
checks' own Python code. Here an entry is a list in a heap of (when, seq, callback) that
compares floats in C, and asyncio holds one timer: the earliest entry's.
"""
from __future__ import annotations

import asyncio
import heapq
from collections.abc import Callable

Entry = list    # [when, seq, callback]; callback None = cancelled


class Timetable:
    def __init__(self, slack: float = 0.0) -> None:
        """`slack`: entries due within this many seconds of a firing run with it. Starting
        checks in small batches costs far fewer loop wake-ups than one wake-up per check."""
        self.slack = slack
        self._heap: list[Entry] = []
        self._seq = 0
        self._handle: asyncio.TimerHandle | None = None
        self._armed_for = float("inf")

    def at(self, when: float, callback: Callable[[], None]) -> Entry:
        """Call `callback` at loop time `when`; cancel(entry) drops it."""
        self._seq += 1
        entry = [when, self._seq, callback]
        heapq.heappush(self._heap, entry)
        if when < self._armed_for:
            self._arm(when)
        return entry

    @staticmethod
    def cancel(entry: Entry) -> None:
        entry[2] = None

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._heap.clear()
        self._armed_for = float("inf")

    def _arm(self, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._armed_for = when
        self._handle = asyncio.get_running_loop().call_at(when, self._fire)

    def _fire(self) -> None:
        self._handle = None
        self._armed_for = float("inf")
        heap = self._heap
        now = asyncio.get_running_loop().time() + self.slack
        while heap and heap[0][0] <= now:
            callback = heapq.heappop(heap)[2]
            if callback is not None:
                callback()
        while heap and heap[0][2] is None:     # cancelled entries at the top
            heapq.heappop(heap)
        if heap and heap[0][0] != self._armed_for:     # callbacks may have armed already
            self._arm(heap[0][0])
