"""The engine end to end on the host: real local TCP/HTTP servers, records written like the
agent writes them, an in-memory IPVS table that executes the engine's netlink ops."""
from __future__ import annotations

import asyncio
import contextlib
import time

from engine_harness import KEY, Backend, FakeKernel, record, register, until

from lvsocf import state
from lvsocf.checks.base import TaskChecker
from lvsocf.engine.engine import Engine
from lvsocf.ipvs.model import RealServer, ServiceKey
from lvsocf.records import ServiceRecord


@contextlib.asynccontextmanager
async def running(k: FakeKernel, **kw):
    engine = Engine(lambda: k, poll=0.02, **kw)
    ready = asyncio.Event()
    task = asyncio.create_task(engine.run(ready.set))
    await asyncio.wait_for(ready.wait(), 5)
    try:
        yield engine
    finally:
        engine.request_stop("test")
        await asyncio.wait_for(task, 5)


def health(name: str) -> dict:
    return state.read("health", name) or {}


def test_new_real_server_gets_weight_after_rise_then_fall_and_rise(state_dir, fake):
    async def main():
        b = await Backend().start()
        register("rs1", record(port=b.port, rise=2, fall=2))
        async with running(fake) as engine:
            ident = f"127.0.0.1:{b.port}"
            await until(lambda: fake.weights().get(ident) == 0, what="added with weight 0")
            assert health("rs1")["state"] == "unknown"
            await until(lambda: fake.weights()[ident] == 5, what="up after rise")
            assert health("rs1")["state"] == "up" or engine.monitors["rs1"].state.value == "up"
            await b.stop()
            await until(lambda: fake.weights()[ident] == 0, what="quiescent after fall")
            await until(lambda: health("rs1").get("state") == "down")
            assert health("rs1")["healthy"] is False and health("rs1")["weight"] == 0
            assert "refused" in health("rs1")["detail"]
            await b.start()
            await until(lambda: fake.weights()[ident] == 5, what="back after rise")
            assert engine.stats.checks > 4
    asyncio.run(main())


def test_failure_action_remove_deletes_and_readds(state_dir, fake):
    async def main():
        b = await Backend().start()
        register("rs1", record(port=b.port, failure_action="remove", rise=1, fall=1))
        async with running(fake):
            ident = f"127.0.0.1:{b.port}"
            await until(lambda: fake.weights().get(ident) == 5)
            await b.stop()
            await until(lambda: ident not in fake.weights(), what="removed")
            await until(lambda: health("rs1").get("weight", 1) is None)
            await b.start()
            await until(lambda: fake.weights().get(ident) == 5, what="re-added")
    asyncio.run(main())


def test_initial_weight_and_http_check(state_dir, fake):
    async def main():
        good = await Backend(http=True).start()
        bad = await Backend(http=True, status=503).start()
        register("good", record(port=good.port, kind="http", initial_weight=3,
                                options={"request": "/health"}))
        register("bad", record(port=bad.port, kind="http", initial_weight=3))
        async with running(fake):
            await until(lambda: len(fake.weights()) == 2)
            assert set(fake.weights().values()) == {3}   # before any verdict
            await until(lambda: fake.weights()[f"127.0.0.1:{bad.port}"] == 0)
            await until(lambda: fake.weights()[f"127.0.0.1:{good.port}"] == 5)
            assert "status 503" in health("bad")["detail"]
            assert good.hits >= 2 and bad.hits >= 2
    asyncio.run(main())


def test_fallback_in_when_all_down_out_when_first_back(state_dir, fake):
    ServiceRecord(KEY, RealServer("10.0.9.9", 8080, "masq")).write("svc")
    fake.put(KEY, RealServer("10.0.9.9", 8080, "masq", 1))    # IPVSService put it in

    async def main():
        a, b = await Backend().start(), await Backend().start()
        register("a", record(port=a.port, rise=1, fall=1))
        register("b", record(port=b.port, rise=1, fall=1))
        async with running(fake):
            await until(lambda: "10.0.9.9:8080" not in fake.weights(), what="fallback out")
            await a.stop()
            await b.stop()
            await until(lambda: "10.0.9.9:8080" in fake.weights(), what="fallback in")
            assert fake.weights()[f"127.0.0.1:{a.port}"] == 0
            await b.start()
            await until(lambda: "10.0.9.9:8080" not in fake.weights(), what="fallback out")
            assert fake.weights()[f"127.0.0.1:{b.port}"] == 5
    asyncio.run(main())


def test_a_reload_that_changes_the_fallback_takes_the_old_one_out(state_dir, fake):
    old, new = RealServer("10.0.9.9", 8080, "masq"), RealServer("10.0.9.8", 8080, "masq")
    ServiceRecord(KEY, old).write("svc")

    async def main():
        async with running(fake):
            await until(lambda: "10.0.9.9:8080" in fake.weights(), what="first fallback in")
            ServiceRecord(KEY, new).write("svc")           # IPVSService reload-agent
            await until(lambda: set(fake.weights()) == {"10.0.9.8:8080"}, what="swapped")
            ServiceRecord(KEY, None).write("svc")
            await until(lambda: fake.weights() == {}, what="fallback removed")
    asyncio.run(main())


def test_only_registered_entries_are_touched(state_dir, fake):
    foreign = RealServer("10.0.5.5", 80, "gate", 7)
    fake.put(KEY, foreign)
    other = ServiceKey("tcp", "10.0.0.2", 80)
    fake.add_service(other)
    fake.put(other, RealServer("127.0.0.1", 1, "masq", 4))

    async def main():
        b = await Backend().start()
        register("rs1", record(port=b.port, rise=1, fall=1))
        async with running(fake):
            await until(lambda: fake.weights().get(f"127.0.0.1:{b.port}") == 5)
            await b.stop()
            await until(lambda: fake.weights()[f"127.0.0.1:{b.port}"] == 0)
        assert fake.table[KEY][foreign.ident] == foreign
        assert fake.weights(other) == {"127.0.0.1:1": 4}
    asyncio.run(main())


def test_restart_resumes_without_flap(state_dir, fake):
    """A restarted engine resumes every registration from its health record: no weight
    change, no state change, and a real failure still needs `fall` failures."""
    async def main():
        a, b = await Backend().start(), await Backend().start()
        register("a", record(port=a.port, rise=3, fall=3))
        register("b", record(port=b.port, rise=3, fall=3))
        async with running(fake):
            await until(lambda: fake.weights().get(f"127.0.0.1:{a.port}") == 5)
            await b.stop()
            await until(lambda: fake.weights().get(f"127.0.0.1:{b.port}") == 0)
            await until(lambda: health("b").get("state") == "down")
        before = dict(fake.weights())
        writes = len(fake.applied)
        await b.start()              # b is healthy again while no engine runs
        await a.stop()               # and a failed
        async with running(fake, health_refresh=0) as engine:
            assert engine.monitors["a"].state.value == "up"
            assert engine.monitors["b"].state.value == "down"
            assert health("a")["state"] == "up" and health("b")["state"] == "down"
            assert fake.weights() == before and len(fake.applied) == writes
            # first verdicts only after rise/fall checks of this engine
            await until(lambda: engine.monitors["a"].rf.counters.total_fail >= 1)
            assert fake.weights() == before
            await until(lambda: fake.weights()[f"127.0.0.1:{a.port}"] == 0, what="a down")
            await until(lambda: fake.weights()[f"127.0.0.1:{b.port}"] == 5, what="b up")
            assert engine.monitors["a"].rf.counters.total_fail >= 3
            assert engine.monitors["b"].rf.counters.total_ok >= 3
    asyncio.run(main())


def test_restart_keeps_adopted_weights_until_verdict(state_dir, fake):
    """No health record (a new registration of an existing entry): its weight stays."""
    async def main():
        b = await Backend().start()
        fake.put(KEY, RealServer("127.0.0.1", b.port, "masq", 9))
        await b.stop()
        register("rs1", record(port=b.port, rise=1, fall=4, interval=0.05))
        async with running(fake) as engine:
            await until(lambda: engine.monitors["rs1"].rf.counters.total_fail >= 2)
            assert fake.weights()[f"127.0.0.1:{b.port}"] == 9
            await until(lambda: fake.weights()[f"127.0.0.1:{b.port}"] == 0)
    asyncio.run(main())


def test_config_change_keeps_state_and_applies_weight(state_dir, fake):
    async def main():
        b = await Backend().start()
        register("rs1", record(port=b.port, rise=2, fall=2, interval=0.05))
        async with running(fake) as engine:
            ident = f"127.0.0.1:{b.port}"
            await until(lambda: fake.weights().get(ident) == 5)
            old_checker = engine.monitors["rs1"].checker
            register("rs1", record(port=b.port, rise=5, fall=5, interval=0.1, weight=8,
                                   kind="tcp", options={"check_port": str(b.port)}))
            await until(lambda: fake.weights()[ident] == 8, what="new weight")
            m = engine.monitors["rs1"]
            assert m.state.value == "up" and m.checker is not old_checker
            assert (m.rf.rise, m.rf.fall) == (5, 5)
            await until(lambda: health("rs1").get("configured_weight") == 8)
    asyncio.run(main())


def test_deregistration_leaves_the_kernel_alone(state_dir, fake):
    async def main():
        b = await Backend().start()
        register("rs1", record(port=b.port, rise=1))
        async with running(fake) as engine:
            await until(lambda: fake.weights().get(f"127.0.0.1:{b.port}") == 5)
            writes = len(fake.applied)
            state.remove("realservers", "rs1")
            await until(lambda: "rs1" not in engine.monitors)
            await until(lambda: state.read("health", "rs1") is None)
            await asyncio.sleep(0.2)
            assert len(fake.applied) == writes
            assert fake.weights()[f"127.0.0.1:{b.port}"] == 5
    asyncio.run(main())


def test_a_reused_connection_lives_as_long_as_its_check(state_dir, fake):
    """reuse_connection: one connection carries the checks; a changed check lets go of it
    and takes a new one; deregistration closes it (counted by the server, not by us)."""
    async def main():
        b = await Backend(http=True, keep_alive=True).start()
        options = {"reuse_connection": "true"}
        register("rs1", record(port=b.port, kind="http", options=options, interval=0.02))
        async with running(fake) as engine:
            await until(lambda: b.requests >= 10, what="ten checks")
            assert (b.hits, b.open) == (1, 1)
            register("rs1", record(port=b.port, kind="http", options=options, interval=0.03))
            await until(lambda: b.hits == 2 and b.requests >= 20, what="a new connection")
            assert b.open == 1
            state.remove("realservers", "rs1")
            await until(lambda: "rs1" not in engine.monitors)
            await until(lambda: b.open == 0, what="the connection closed")
        await b.stop()
    asyncio.run(main())


def test_missing_service_is_reported_and_retried(state_dir):
    k = FakeKernel()

    async def main():
        register("rs1", record(port=1))
        async with running(k):
            await until(lambda: "does not exist" in (health("rs1").get("error") or ""))
            k.add_service(KEY)
            await until(lambda: k.weights().get("127.0.0.1:1") == 0, timeout=6)
            await until(lambda: health("rs1").get("error") is None)
    asyncio.run(main())


def test_bad_check_options_are_reported_not_fatal(state_dir, fake):
    async def main():
        register("bad", record(kind="http", options={"status_codes": "nope"}))
        register("good", record(kind="none", port=1, rise=1))
        async with running(fake):
            await until(lambda: "status_codes" in (health("bad").get("error") or ""))
            await until(lambda: fake.weights().get("127.0.0.1:1") == 5)
            assert "127.0.0.1:80" not in fake.weights()
    asyncio.run(main())


def test_idle_exit(state_dir, fake):
    async def main():
        engine = Engine(lambda: fake, poll=0.02, idle_exit=0.1)
        reason = await asyncio.wait_for(engine.run(), 5)
        assert "no registrations" in reason
    asyncio.run(main())


def test_secrets_stay_out_of_logs_and_health(state_dir, fake, caplog):
    secret = "--token=hunter2-s3cret"

    async def main():
        register("ext", record(kind="external", rise=1, fall=1,
                               options={"external_command": f"false {secret}"}))
        register("bad", record(kind="external", port=2,
                               options={"external_command": f"'unclosed {secret}"}))
        async with running(fake):
            await until(lambda: health("ext").get("state") == "down")
            await until(lambda: bool(health("bad").get("error")))
    with caplog.at_level("DEBUG", logger="lvsocf.engine"):
        asyncio.run(main())
    published = (state_dir / "health" / "ext.json").read_text() + \
        (state_dir / "health" / "bad.json").read_text()
    assert "false: exit 1" in published
    assert "hunter2" not in caplog.text and "hunter2" not in published


class SlowFailure(TaskChecker):
    """A checker whose every check times out (as a starved loop makes a healthy server's
    check time out)."""

    kind = "stub"

    async def check(self, timeout: float):
        from lvsocf.checks import CheckResult
        await asyncio.sleep(timeout)
        return CheckResult(False, timeout, f"timed out after {timeout:g}s")


def test_timeouts_of_a_starved_engine_are_inconclusive(state_dir):
    from lvsocf.checks.state import HealthState
    from lvsocf.engine.health import Resume
    from lvsocf.engine.lag import LagMeter
    from lvsocf.engine.monitor import Monitor, Stats
    from lvsocf.engine.registry import parse
    from lvsocf.engine.timetable import Timetable

    async def main(stall: bool):
        lag, stats = LagMeter(), Stats()
        seen = []
        m = Monitor(parse("rs", record(timeout=1.0, interval=1.5, fall=1)),
                    Resume(HealthState.UP, None, False), lambda *a: seen.append(a), stats,
                    Timetable(), lag)
        m.checker = SlowFailure()
        meter = asyncio.create_task(lag.run())
        m.start(0)
        await asyncio.sleep(0.2)
        if stall:
            time.sleep(0.6)             # the whole loop stalls (a busy node)
        await asyncio.sleep(1.2 if not stall else 0.6)
        m.stop()
        meter.cancel()
        return m, stats, seen
    m, stats, seen = asyncio.run(main(stall=True))
    assert stats.inconclusive == 1 and stats.failures == 0 and not seen
    assert m.state is HealthState.UP
    m, stats, seen = asyncio.run(main(stall=False))
    assert stats.inconclusive == 0 and stats.failures == 1
    assert m.state is HealthState.DOWN


def test_many_registrations_at_once_start_spread_out(state_dir, fake):
    async def main():
        for i in range(400):
            register(f"rs{i}", record(port=1000 + i, kind="none", interval=5.0))
        starts = []
        async with running(fake) as engine:
            await until(lambda: engine.stats.checks >= 400, timeout=10)
            starts = [m.last_at for m in engine.monitors.values()]
        return max(starts) - min(starts)
    # 400 first checks at INITIAL_RATE (200/s): spread over about 2 s, not one burst
    assert asyncio.run(main()) > 1.0


def test_unchanged_records_still_get_their_last_check_refreshed(state_dir, fake):
    """Steady results change no state; the publisher still rewrites each record (last_check,
    latency) once per refresh period, here 0.5 s."""
    async def main():
        b = await Backend().start()
        register("rs1", record(port=b.port, rise=1, interval=0.1))
        register("rs2", record(port=b.port, rise=1, interval=0.1))
        async with running(fake, health_refresh=0.5) as engine:
            await until(lambda: health("rs1").get("state") == "up" == health("rs2").get("state"))
            first = {n: health(n)["last_check"] for n in ("rs1", "rs2")}
            await asyncio.sleep(1.6)
            later = {n: health(n)["last_check"] for n in ("rs1", "rs2")}
            assert all(m.state.value == "up" for m in engine.monitors.values())
        return first, later
    first, later = asyncio.run(main())
    assert all(later[n] - first[n] >= 0.5 for n in first), (first, later)


def test_an_unexpected_error_in_a_loop_task_stops_the_engine(state_dir, fake):
    """An exception no handler expects (here from the kernel door, after start) ends the
    apply task: the engine stops, naming it, instead of checking on without ever writing
    the kernel again (the next agent monitor starts a new engine)."""
    async def main():
        b = await Backend().start()
        register("rs1", record(port=b.port, rise=1, fall=1))
        engine = Engine(lambda: fake, poll=0.02)
        ready = asyncio.Event()
        task = asyncio.create_task(engine.run(ready.set))
        await asyncio.wait_for(ready.wait(), 5)

        def broken(*_args, **_kwargs):
            raise RuntimeError("boom")
        fake.apply = fake.real_servers = broken
        await b.stop()              # a verdict for the applier to write
        reason = await asyncio.wait_for(task, 10)
        assert "task apply failed" in reason and "boom" in reason
    asyncio.run(main())
