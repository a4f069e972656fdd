"""Shared checks: one real server in three services with the same check is checked once per
interval (counted at the backend); each entry keeps its own weight and failure action."""
from __future__ import annotations

import asyncio
import time

from engine_harness import Backend, record, register, until
from test_engine_loop import running

from lvsocf import state
from lvsocf.ipvs.model import ServiceKey

KEYS = [ServiceKey("tcp", f"10.0.0.{n}", 80) for n in (1, 2, 3)]
INTERVAL = 0.1


def test_three_services_one_check_per_interval_own_weights(state_dir, fake):
    for key in KEYS:
        fake.add_service(key)

    async def main():
        b = await Backend().start()
        ident = f"127.0.0.1:{b.port}"
        for n, (key, weight, action) in enumerate(zip(
                KEYS, (5, 3, 7), ("quiescent", "remove", "quiescent"), strict=True)):
            register(f"rs{n}", record(port=b.port, key=key, weight=weight, interval=INTERVAL,
                                      rise=1, fall=1, failure_action=action))
        async with running(fake) as engine:
            await until(lambda: [fake.weights(k).get(ident) for k in KEYS] == [5, 3, 7])
            hits, began = b.hits, time.monotonic()
            await asyncio.sleep(2.0)
            per_interval = (b.hits - hits) / ((time.monotonic() - began) / INTERVAL)
            assert 0.5 <= per_interval <= 1.3, per_interval       # not 3
            assert engine.stats.checks <= b.hits + 1
            await b.stop()
            await until(lambda: [fake.weights(k).get(ident) for k in KEYS] == [0, None, 0])
            assert {state.read("health", f"rs{n}")["state"] for n in range(3)} == {"down"}
            await b.start()
            await until(lambda: [fake.weights(k).get(ident) for k in KEYS] == [5, 3, 7])
            # the leader goes: the others still get checked and follow their verdicts
            state.remove("realservers", "rs0")
            engine.poke()
            await until(lambda: "rs0" not in engine.monitors)
            hits = b.hits
            await until(lambda: b.hits >= hits + 3, what="checks go on without the leader")
            await b.stop()
            await until(lambda: [fake.weights(k).get(ident) for k in KEYS[1:]] == [None, 0])
    asyncio.run(main())


def test_different_checks_of_one_server_are_not_shared(state_dir, fake):
    fake.add_service(KEYS[1])

    async def main():
        b = await Backend().start()
        register("fast", record(port=b.port, interval=INTERVAL, rise=1, fall=1))
        register("slow", record(port=b.port, key=KEYS[1], interval=INTERVAL * 2, rise=1,
                                fall=1))
        async with running(fake) as engine:
            await until(lambda: engine.check_groups.checks() == 2)
            hits, began = b.hits, time.monotonic()
            await asyncio.sleep(2.0)
            per_fast_interval = (b.hits - hits) / ((time.monotonic() - began) / INTERVAL)
            assert per_fast_interval >= 1.2, per_fast_interval       # 1 + 1/2
    asyncio.run(main())
