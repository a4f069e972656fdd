"""Slow start: the weight ramps from 1 to the configured weight over slow_start seconds of
healthy time after a server comes up; soft failures pause it, down ends it."""
from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

from engine_harness import Backend, record, register, until
from hypothesis import given
from hypothesis import strategies as st
from test_engine_loop import running

from lvsocf.checks.state import HealthState
from lvsocf.engine.slowstart import SlowStart, ramp_weight, step_seconds


@given(st.integers(2, 1000), st.floats(0.1, 3600), st.floats(0, 7200), st.floats(0, 7200))
def test_ramp_is_monotonic_from_one_to_configured(weight, seconds, a, b):
    lo, hi = sorted((a, b))
    assert 1 <= ramp_weight(weight, lo, seconds) <= ramp_weight(weight, hi, seconds) <= weight
    assert ramp_weight(weight, seconds, seconds) == weight
    assert ramp_weight(weight, 0, seconds) == 1
    assert 0.1 <= step_seconds(weight, seconds) <= 1.0


def test_weights_one_and_zero_do_not_ramp():
    assert ramp_weight(1, 0, 10) == 1 and ramp_weight(0, 0, 10) == 0


def _weights_seen(fake, ident: str, seen: list[int]) -> bool:
    weight = fake.weights().get(ident)
    if weight is not None and (not seen or seen[-1] != weight):
        seen.append(weight)
    return False


def test_a_new_server_ramps_up_in_steps(state_dir, fake):
    async def main():
        b = await Backend().start()
        register("rs1", record(port=b.port, weight=5, rise=1, fall=1, slow_start=2.0))
        ident = f"127.0.0.1:{b.port}"
        seen: list[int] = []
        async with running(fake):
            began = time.monotonic()
            await until(lambda: _weights_seen(fake, ident, seen) or seen[-1:] == [5],
                        timeout=10, what="full weight")
            took = time.monotonic() - began
        assert seen[0] == 0 and seen[1] == 1, seen          # added at 0, up at 1
        assert seen[1:] == sorted(seen[1:]) and len(seen) >= 4, seen
        assert 1.5 <= took <= 6, took
    asyncio.run(main())


def test_without_slow_start_the_weight_comes_at_once(state_dir, fake):
    async def main():
        b = await Backend().start()
        register("rs1", record(port=b.port, weight=5, rise=1, fall=1))
        ident = f"127.0.0.1:{b.port}"
        seen: list[int] = []
        async with running(fake):
            await until(lambda: _weights_seen(fake, ident, seen) or seen[-1:] == [5])
        assert seen == [0, 5]
    asyncio.run(main())


def test_down_ends_the_ramp_and_recovery_starts_a_new_one(state_dir, fake):
    async def main():
        b = await Backend().start()
        register("rs1", record(port=b.port, weight=9, rise=1, fall=1, slow_start=3.0))
        ident = f"127.0.0.1:{b.port}"
        async with running(fake):
            await until(lambda: (fake.weights().get(ident) or 0) >= 3, timeout=10)
            await b.stop()
            await until(lambda: fake.weights()[ident] == 0, what="quiescent")
            await b.start()
            await until(lambda: fake.weights()[ident] >= 1, what="back")
            assert fake.weights()[ident] <= 3       # from 1 again, not where it was
            await until(lambda: fake.weights()[ident] == 9, timeout=10, what="full again")
    asyncio.run(main())


def _monitor(state: HealthState, slow_start: float = 10.0, weight: int = 11):
    reg = SimpleNamespace(slow_start=slow_start, server=SimpleNamespace(weight=weight), key="k")
    return SimpleNamespace(name="rs", state=state, reg=reg)


def test_soft_failures_pause_the_ramp_and_a_reload_to_zero_ends_it():
    marked: list[str] = []
    ramps = SlowStart(marked.append)
    m = _monitor(HealthState.UP)
    ramps.on_hard(m, HealthState.UP)
    ramps.advance({"rs": m}, 3.0)
    assert ramps.weight(m) == 4 and marked == ["k"]
    m.state = HealthState.SOFT_DOWN
    ramps.advance({"rs": m}, 5.0)
    assert ramps.weight(m) == 4 and marked == ["k"]          # paused, nothing to apply
    m.state = HealthState.UP
    ramps.advance({"rs": m}, 1.0)
    assert ramps.weight(m) == 5
    m.reg.slow_start = 0.0                                    # reload-agent slow_start=0
    ramps.advance({"rs": m}, 0.1)
    assert ramps.weight(m) is None and "rs" not in ramps


def test_a_restarted_engine_resumes_a_ramp_under_way():
    ramps = SlowStart(lambda key: None)
    m = _monitor(HealthState.UP)
    ramps.resume(m, since=1000.0, now=1005.0)
    assert ramps.weight(m) == 6
    old = _monitor(HealthState.UP)
    old.name = "old"
    ramps.resume(old, since=1000.0, now=1011.0)
    assert "old" not in ramps
