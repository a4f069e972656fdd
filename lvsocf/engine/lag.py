"""How late the engine's event loop runs.

A starved loop (a busy node, or more checks than one core can run) makes checks time out that
would have succeeded: their deadline fires while their answer waits in the queue. Such a
timeout says nothing about the real server, so the monitors ask this meter whether the loop
stalled during the check and then leave the result out of rise/fall (counted as
inconclusive): an overloaded engine gets late, it does not take healthy servers out.
"""
from __future__ import annotations

import asyncio
from collections import deque

TICK = 0.1


class LagMeter:
    def __init__(self, keep: float = 60.0) -> None:
        self.keep = keep
        self._samples: deque[tuple[float, float]] = deque()   # (loop time, lag seconds)
        self._due: float | None = None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._due = loop.time() + TICK
            await asyncio.sleep(TICK)
            now = loop.time()
            self._samples.append((now, max(0.0, now - self._due)))
            while self._samples and self._samples[0][0] < now - self.keep:
                self._samples.popleft()

    def worst_since(self, since: float, now: float) -> float:
        """The longest stall seen since loop time `since`, including the one going on now
        (the meter's own tick being overdue)."""
        worst = max(0.0, now - self._due) if self._due is not None else 0.0
        for at, lag in reversed(self._samples):
            if at < since:
                break
            worst = max(worst, lag)
        return worst
