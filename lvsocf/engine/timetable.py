"""Many timers behind one asyncio timer: the engine's check schedule.

Callbacks on checks.loop_shared.Deadlines (10 ms slots, one asyncio timer for the earliest),
cancellable. With thousands of real servers checked every second, asyncio's own timer heap
(comparisons in Python) cost more than the checks' own Python code.
"""
from __future__ import annotations

from collections.abc import Callable

from lvsocf.checks.loop_shared import Deadlines

Entry = list    # [callback]; None once cancelled


class Timetable:
    def __init__(self, slack: float = 0.0) -> None:
        """`slack`: entries due within this many seconds of a firing run with it. Starting
        checks in small batches costs far fewer loop wake-ups than one wake-up per check."""
        self._deadlines: Deadlines[Entry] = Deadlines(_run, slack)

    def at(self, when: float, callback: Callable[[], None]) -> Entry:
        """Call `callback` at loop time `when`; cancel(entry) drops it."""
        entry = [callback]
        self._deadlines.at(when, entry)
        return entry

    @staticmethod
    def cancel(entry: Entry) -> None:
        entry[0] = None

    def close(self) -> None:
        self._deadlines.close()


def _run(entry: Entry, now: float) -> None:
    callback = entry[0]
    if callback is not None:
        callback()
