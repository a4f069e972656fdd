"""The engine is the only writer of real-server entries: IPVSRealServer's stop records a drain
deadline and the engine gives the entry weight 0, removes it once its active connections end
or at the deadline, then removes the record (what stop waits for); the fallback server of a
service with no registration is the engine's too."""
from __future__ import annotations

import asyncio
import time

from engine_harness import KEY, Backend, record, register, until
from test_engine_loop import running

from lvsocf import state
from lvsocf.ipvs.model import RealServer
from lvsocf.records import RealServerRecord, ServiceRecord


def drain(name: str, seconds: float) -> None:
    """What IPVSRealServer's stop writes: the same record with a deadline."""
    rec = RealServerRecord.from_json(state.read("realservers", name))
    register(name, {**rec.to_json(), "draining": time.time() + seconds})


def test_drain_waits_for_connections_then_removes_entry_and_record(state_dir, fake):
    async def main():
        b = await Backend().start()
        register("rs1", record(port=b.port, rise=1, fall=1))
        ident = ("127.0.0.1", b.port)
        async with running(fake) as engine:
            await until(lambda: fake.weights().get(f"127.0.0.1:{b.port}") == 5, what="up")
            fake.conns[ident] = 2
            drain("rs1", 60)
            await until(lambda: fake.weights().get(f"127.0.0.1:{b.port}") == 0, what="weight 0")
            await asyncio.sleep(0.3)
            assert fake.weights() == {f"127.0.0.1:{b.port}": 0}, "held by its connections"
            assert state.read("realservers", "rs1") is not None
            checks = engine.stats.checks
            fake.conns[ident] = 0
            await until(lambda: fake.weights() == {}, what="removed once idle")
            await until(lambda: state.read("realservers", "rs1") is None, what="record gone")
            assert state.read("health", "rs1") is None and "rs1" not in engine.monitors
            assert engine.stats.checks <= checks + 1, "a draining real server is not checked"
    asyncio.run(main())


async def up_and_busy(fake) -> None:
    """rs1 (check none) up with weight 5 and an active connection."""
    await until(lambda: fake.weights().get("127.0.0.1:81") == 5, what="up")
    fake.conns[("127.0.0.1", 81)] = 1


def test_drain_deadline_removes_a_busy_entry(state_dir, fake):
    async def main():
        register("rs1", record(port=81, kind="none", rise=1))
        async with running(fake):
            await up_and_busy(fake)
            began = time.monotonic()
            drain("rs1", 0.5)
            await until(lambda: state.read("realservers", "rs1") is None, what="record gone")
            assert fake.weights() == {} and time.monotonic() - began >= 0.4
    asyncio.run(main())


def test_a_new_record_calls_the_drain_off(state_dir, fake):
    async def main():
        register("rs1", record(port=81, kind="none", rise=1))
        async with running(fake):
            await up_and_busy(fake)
            drain("rs1", 60)
            await until(lambda: fake.weights().get("127.0.0.1:81") == 0, what="draining")
            register("rs1", record(port=81, kind="none", rise=1))     # start again
            await until(lambda: fake.weights().get("127.0.0.1:81") == 5, what="back")
            assert state.read("realservers", "rs1")["draining"] is None
    asyncio.run(main())


def test_drain_follows_the_fallback_and_a_restarted_engine_resumes_it(state_dir, fake):
    ServiceRecord(KEY, RealServer("10.0.9.9", 8080, "masq")).write("svc")

    async def main():
        register("rs1", record(port=81, kind="none", rise=1))
        async with running(fake):
            await until(lambda: fake.weights() == {"127.0.0.1:81": 5}, what="up, no fallback")
            fake.conns[("127.0.0.1", 81)] = 1
            drain("rs1", 60)
            await until(lambda: fake.weights() == {"127.0.0.1:81": 0, "10.0.9.9:8080": 1},
                        what="weight 0 and the fallback in")
        async with running(fake):       # a new engine goes on draining
            await asyncio.sleep(0.2)
            assert fake.weights() == {"127.0.0.1:81": 0, "10.0.9.9:8080": 1}
            fake.conns.clear()
            await until(lambda: fake.weights() == {"10.0.9.9:8080": 1}, what="removed")
            await until(lambda: state.read("realservers", "rs1") is None, what="record gone")
    asyncio.run(main())


def test_the_fallback_of_a_service_without_registrations(state_dir, fake):
    """IPVSService writes its record and starts the engine; the engine puts the fallback in
    (also when it starts with no registration at all) and takes it out once another entry
    has weight."""
    async def main():
        async with running(fake) as engine:
            ServiceRecord(KEY, RealServer("10.0.9.9", 8080, "masq")).write("svc")
            await until(lambda: fake.weights() == {"10.0.9.9:8080": 1}, what="fallback in")
            fake.put(KEY, RealServer("10.0.1.1", 80, "gate", 2))     # someone's, with weight
            engine.reconcile_all()          # what a rewritten service record triggers
            await until(lambda: "10.0.9.9:8080" not in fake.weights(), what="fallback out")
    asyncio.run(main())
    fake.table[KEY].clear()

    async def restart():
        async with running(fake):       # at start, without any registration
            await until(lambda: fake.weights() == {"10.0.9.9:8080": 1}, what="fallback in")
    asyncio.run(restart())
