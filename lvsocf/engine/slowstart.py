"""Slow start: a real server that just came up (added, or recovered) gets its weight in
steps, from 1 to the configured weight over `slow_start` seconds, instead of all of it at
once. With wlc or lc a server with no connections gets every new one; the ramp keeps a cold
backend from being flooded.

The ramp counts healthy time only: while the server fails checks without being down yet
(soft_down) it holds its weight; down ends the ramp (weight 0 or no entry), and the next
recovery starts a new one. A reload that changes slow_start or the weight takes effect at
the next step; slow_start=0 ends a ramp at once.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from time import monotonic
from typing import TYPE_CHECKING

from lvsocf.checks.state import HealthState

if TYPE_CHECKING:
    from lvsocf.engine.monitor import Monitor
    from lvsocf.ipvs.model import ServiceKey

MAX_STEP = 1.0      # seconds between two weight steps at most
MIN_STEP = 0.1


def ramp_weight(configured: int, healthy_for: float, seconds: float) -> int:
    """The weight after `healthy_for` seconds of a `seconds` ramp to `configured`."""
    if configured <= 1 or seconds <= 0 or healthy_for >= seconds:
        return configured
    return 1 + int((configured - 1) * max(0.0, healthy_for) / seconds)


def step_seconds(configured: int, seconds: float) -> float:
    """How often to look: once a second at most, or as often as the weight can change."""
    if configured <= 1:
        return MAX_STEP
    return min(MAX_STEP, max(MIN_STEP, seconds / (configured - 1)))


@dataclass
class Ramp:
    healthy_for: float = 0.0


class SlowStart:
    """The ramps of one engine, by registration name."""

    def __init__(self, mark: Callable[[ServiceKey], None]) -> None:
        self._mark = mark               # reconcile this service: a ramp's weight changed
        self._ramps: dict[str, Ramp] = {}
        self._wake = asyncio.Event()

    def __contains__(self, name: str) -> bool:
        return name in self._ramps

    def on_hard(self, m: Monitor, new: HealthState) -> None:
        """A hard state change of `m`: up starts a ramp (if it has slow_start), down ends it."""
        if new is HealthState.UP and m.reg.slow_start > 0 and m.reg.server.weight > 1:
            self._ramps[m.name] = Ramp()
            self._wake.set()
        else:
            self._ramps.pop(m.name, None)

    def resume(self, m: Monitor, since: float | None, now: float) -> None:
        """A restarted engine picks up a ramp that was under way (up `since`, unix time), so
        its restart changes no weight beyond the next step."""
        if (m.state is HealthState.UP and since is not None and 0 <= now - since
                < m.reg.slow_start and m.reg.server.weight > 1):
            self._ramps[m.name] = Ramp(now - since)
            self._wake.set()

    def forget(self, name: str) -> None:
        self._ramps.pop(name, None)

    def weight(self, m: Monitor) -> int | None:
        """The weight `m` has now if it ramps, else None (its configured weight)."""
        ramp = self._ramps.get(m.name)
        if ramp is None:
            return None
        return ramp_weight(m.reg.server.weight, ramp.healthy_for, m.reg.slow_start)

    def advance(self, monitors: Mapping[str, Monitor], elapsed: float) -> None:
        """`elapsed` seconds went by: healthy ramps move on; services whose weight changed
        (or whose ramp ended) are marked for reconcile."""
        for name, ramp in list(self._ramps.items()):
            m = monitors.get(name)
            if m is None:
                del self._ramps[name]
                continue
            before = self.weight(m)
            if m.state is HealthState.UP:
                ramp.healthy_for += elapsed
            done = ramp.healthy_for >= m.reg.slow_start
            if done:
                del self._ramps[name]
            if done or self.weight(m) != before:
                self._mark(m.reg.key)

    def _next_step(self, monitors: Mapping[str, Monitor]) -> float:
        steps = [step_seconds(m.reg.server.weight, m.reg.slow_start)
                 for name in self._ramps if (m := monitors.get(name)) is not None]
        return min(steps, default=MAX_STEP)

    async def run(self, monitors: Mapping[str, Monitor]) -> None:
        while True:
            if not self._ramps:
                self._wake.clear()
                await self._wake.wait()
            last = monotonic()
            while self._ramps:
                await asyncio.sleep(self._next_step(monitors))
                now = monotonic()
                self.advance(monitors, now - last)
                last = now
