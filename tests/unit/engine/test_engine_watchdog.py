"""A hung engine (alive, its cycle stale): the watchdog's verdict from the status record,
IPVSRealServer's monitor failing on it and the recovery stop that keeps the real server, and
the engine's own fields for it and for the metrics (flaps, consecutive failures,
interval_max, the metrics file)."""
from __future__ import annotations

import asyncio
import os
import time

import pytest
from engine_harness import Backend, record, register, until
from prometheus_client.parser import text_string_to_metric_families
from test_engine_loop import running

from lvsocf import state
from lvsocf.agents import engine_watch
from lvsocf.agents.base import OcfError
from lvsocf.agents.realserver import AGENT
from lvsocf.engine import files, watchdog
from lvsocf.engine.supervisor import merge_status
from lvsocf.metrics.files import Settings


def test_threshold_is_three_longest_intervals_with_a_floor():
    assert watchdog.threshold({"interval_max": 60}) == 180
    assert watchdog.threshold({"interval_max": 1}) == watchdog.FLOOR
    assert watchdog.threshold({}) == watchdog.FLOOR
    assert watchdog.threshold({"interval_max": "junk"}) == watchdog.FLOOR


def test_hung_when_the_cycle_of_this_engine_is_old(state_dir):
    now = 1000.0
    status = {"pid": 7, "at": now - 31, "interval_max": 5}
    assert "cycle is 31 s old (limit 30 s)" in watchdog.hung(7, now, status)
    assert watchdog.hung(7, now, {**status, "at": now - 29}) is None
    assert watchdog.hung(7, now, {**status, "interval_max": 20}) is None     # 60 s limit
    # a supervisor: its slowest worker counts
    assert watchdog.hung(7, now, {**status, "at": now, "cycle_at": now - 40}) is not None
    state.write("engine", "status", status)
    assert watchdog.hung(7, now) is not None        # reads the record


def test_an_engine_without_a_status_record_yet_is_starting(state_dir):
    files.ensure_dir()
    files.path(files.PID).write_text("7\n")
    now = time.time()
    assert watchdog.hung(7, now, {"pid": 6, "at": 0}) is None
    assert watchdog.hung(7, now + watchdog.STARTING + 5, None) is not None


def test_merged_status_carries_the_oldest_worker_cycle():
    m = merge_status(1, 0.0, [{"pid": 2, "at": 100.0, "interval_max": 5,
                               "checks_per_second": 1.5},
                              {"pid": 3, "at": 90.0, "interval_max": 10,
                               "checks_per_second": 2.0}])
    assert (m["cycle_at"], m["interval_max"], m["checks_per_second"]) == (90.0, 10, 3.5)
    assert merge_status(1, 0.0, [])["cycle_at"] is None


class Ctx:
    """What engine_watch uses of an agent's Context."""

    def __init__(self) -> None:
        import logging
        self.logger = logging.getLogger("test")
        self.agent = AGENT

    instance = "web-rs1"


def test_monitor_fails_on_a_hung_engine_and_marks_the_recovery(state_dir):
    ctx = Ctx()
    state.write("engine", "status", {"pid": os.getpid(), "at": time.time() - 100,
                                     "interval_max": 1})
    with pytest.raises(OcfError) as err:
        engine_watch.check(ctx, os.getpid())
    assert err.value.rc == 1 and "is hung: its cycle is 100 s old" in str(err.value)
    assert state.read(engine_watch.KIND, ctx.instance)["engine_pid"] == os.getpid()
    # the stop that follows is a recovery (no engine runs here: nothing to kill) ...
    assert engine_watch.recovery_stop(ctx)
    # ... until start clears the mark
    engine_watch.started(ctx)
    assert not engine_watch.recovery_stop(ctx)


def test_a_fresh_engine_passes_and_an_old_mark_is_no_recovery(state_dir):
    ctx = Ctx()
    state.write("engine", "status", {"pid": 5, "at": time.time(), "interval_max": 1})
    engine_watch.check(ctx, 5)
    assert state.read(engine_watch.KIND, ctx.instance) is None
    state.write(engine_watch.KIND, ctx.instance,
                {"at": time.time() - engine_watch.WINDOW - 1, "engine_pid": 5})
    assert not engine_watch.recovery_stop(ctx)


def test_engine_publishes_flaps_failures_interval_and_the_metrics_file(state_dir, fake,
                                                                        tmp_path):
    prom = tmp_path / "lvsocf.prom"

    async def main():
        b = await Backend().start()
        register("rs1", record(port=b.port, rise=1, fall=1, interval=0.05))
        async with running(fake, metrics=Settings(prom, 0.2)) as engine:
            await until(lambda: engine.monitors["rs1"].state.value == "up")
            await b.stop()
            await until(lambda: engine.monitors["rs1"].consecutive_failures >= 2)
            engine.flush_health()
            h = state.read("health", "rs1")
            assert h["flaps"] == 2 and h["consecutive_failures"] >= 1
            status = engine.status()
            assert status["interval_max"] == 0.05
            await until(lambda: prom.exists() and "lvsocf_real_server_flaps_total" in
                        prom.read_text(), 5)
        return prom.read_text()

    text = asyncio.run(main())
    samples = {(s.name, s.labels.get("state")): s.value
               for f in text_string_to_metric_families(text) for s in f.samples}
    assert samples[("lvsocf_real_server_flaps_total", None)] == 2
    assert samples[("lvsocf_real_server_state", "down")] == 1
    assert samples[("lvsocf_real_server_consecutive_failures", None)] >= 1
    assert ("lvsocf_engine_checks_total", None) in samples


def test_a_restarted_engine_resumes_the_flap_count(state_dir, fake):
    async def main():
        b = await Backend().start()
        register("rs1", record(port=b.port, rise=1, fall=1))
        async with running(fake) as engine:
            await until(lambda: engine.monitors["rs1"].flaps == 1)
        async with running(fake) as engine:
            assert engine.monitors["rs1"].flaps == 1
        await b.stop()
    asyncio.run(main())
