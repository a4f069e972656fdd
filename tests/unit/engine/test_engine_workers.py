"""Several engine workers: the shares, the supervisor process (its workers, signals, restarts,
death), the merged status, and the fallback of a service split over workers."""
from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter

import pytest
from engine_harness import KEY, Backend, alive, record, register, until, wait

from lvsocf import state
from lvsocf.engine import client, files
from lvsocf.engine.engine import Engine
from lvsocf.engine.registry import Shard
from lvsocf.engine.supervisor import merge_status, worker_count
from lvsocf.ipvs.model import RealServer
from lvsocf.records import ServiceRecord

# ---- shares -------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [2, 3, 4])
def test_every_name_has_exactly_one_worker_and_shares_are_even(count):
    names = [f"web-rs{i}" for i in range(2000)]
    shards = [Shard(i, count) for i in range(count)]
    owners = Counter()
    for name in names:
        mine = [s.index for s in shards if s.owns(name)]
        assert len(mine) == 1, name
        owners[mine[0]] += 1
    assert max(owners.values()) < 1.15 * len(names) / count


def test_shard_text_round_trip_and_junk():
    assert Shard.parse("2/3") == Shard(1, 3) and str(Shard(1, 3)) == "2/3"
    for junk in ("0/2", "3/2", "x/2", "1/0", "1", ""):
        with pytest.raises((ValueError, ZeroDivisionError)):
            Shard.parse(junk)


def test_worker_count():
    assert worker_count("auto") == len(os.sched_getaffinity(0))
    assert worker_count(" 3 ") == 3
    for junk in ("0", "-1", "65", "many", ""):
        with pytest.raises(ValueError):
            worker_count(junk)


def test_merged_status_sums_counts_and_keeps_the_worst_lateness():
    workers = [{"shard": "1/2", "pid": 11, "registrations": 3, "checks": 30, "failures": 1,
                "inconclusive": 0, "cpu_seconds": 1.5, "max_rss_kib": 100, "healthy": 2,
                "down": 1, "lateness_p50": 0.01, "lateness_p95": 0.2, "attrd": True},
               {"shard": "2/2", "pid": 12, "registrations": 4, "checks": 40, "failures": 0,
                "inconclusive": 2, "cpu_seconds": 2.0, "max_rss_kib": 120, "healthy": 4,
                "down": 0, "lateness_p50": 0.02, "lateness_p95": None, "attrd": True}]
    m = merge_status(99, 1.0, workers)
    assert (m["pid"], m["registrations"], m["checks"], m["healthy"], m["down"]) == \
        (99, 7, 70, 6, 1)
    assert (m["failures"], m["inconclusive"], m["max_rss_kib"]) == (1, 2, 220)
    assert m["lateness_p95"] == 0.2 and m["lateness_p50"] == 0.02 and m["attrd"] is True
    assert m["cpu_seconds"] >= 3.5 and [w["pid"] for w in m["workers"]] == [11, 12]


# ---- the supervisor as a process -----------------------------------------------------------


def worker_pids(supervisor: int) -> set[int]:
    children = set()
    for task in os.listdir(f"/proc/{supervisor}/task"):
        text = open(f"/proc/{supervisor}/task/{task}/children").read()
        children.update(int(p) for p in text.split())
    return {p for p in children if alive(p)}


@pytest.fixture
def two_workers(state_dir, monkeypatch):
    monkeypatch.setenv("LVSOCF_ENGINE_WORKERS", "2")
    yield state_dir
    pid = files.read_pid()
    if pid and alive(pid):
        kids = worker_pids(pid)
        os.kill(pid, signal.SIGKILL)
        for kid in kids:
            wait(lambda kid=kid: not alive(kid), what="worker gone")


def health_pids(names) -> dict[str, int]:
    return {n: (state.read("health", n) or {}).get("engine_pid") for n in names}


def test_two_workers_share_the_checks_and_act_as_one_engine(two_workers):
    names = [f"rs{i}" for i in range(8)]
    for name in names:
        register(name, record(port=1, kind="none", interval=0.2))
    supervisor = client.ensure_running(120)
    wait(lambda: len(worker_pids(supervisor)) == 2, 60, "two workers")
    workers = worker_pids(supervisor)
    wait(lambda: set(health_pids(names).values()) == workers, 60, "both workers checking")
    wait(lambda: (state.read("engine", "status") or {}).get("registrations") == 8, 30,
         "merged status")
    status = state.read("engine", "status")
    assert status["pid"] == supervisor and {w["pid"] for w in status["workers"]} == workers
    shard_of = {w["pid"]: Shard.parse(w["shard"]) for w in status["workers"]}
    for name, pid in health_pids(names).items():     # each registration in its worker's share
        assert shard_of[pid].owns(name), name

    # SIGHUP reaches the workers: a new registration is picked up
    register("late", record(port=1, kind="none", interval=0.2))
    assert client.notify()
    wait(lambda: health_pids(["late"])["late"] in workers, 20, "late registration checked")

    # a dead worker is started again and takes its share back
    victim = next(iter(workers))
    os.kill(victim, signal.SIGKILL)
    wait(lambda: len(worker_pids(supervisor)) == 2 and victim not in worker_pids(supervisor),
         60, "worker restarted")
    workers = worker_pids(supervisor)
    wait(lambda: set(health_pids(names).values()) == workers, 60, "shares resumed")
    assert "starting it again" in (two_workers / files.LOG).read_text()

    # SIGKILL of the supervisor takes the workers along; the lock is free again
    os.kill(supervisor, signal.SIGKILL)
    for pid in workers:
        wait(lambda pid=pid: not alive(pid), 20, "workers die with the supervisor")
    wait(lambda: client.running_pid() is None, 20, "lock released")


def test_sigterm_stops_the_workers_too(two_workers):
    register("rs", record(port=1, kind="none"))
    supervisor = client.ensure_running(120)
    wait(lambda: "ready with 2 workers" in (two_workers / files.LOG).read_text(), 60,
         "workers ready")
    workers = worker_pids(supervisor)
    os.kill(supervisor, signal.SIGTERM)
    for pid in [supervisor, *workers]:
        wait(lambda pid=pid: not alive(pid), 30, "clean exit")
    log = (two_workers / files.LOG).read_text()
    assert "SIGTERM" in log and "worker 1/2" in log and "worker 2/2" in log


# ---- a service split over workers ----------------------------------------------------------


def test_fallback_goes_in_when_another_worker_lost_the_race(state_dir, fake):
    """Worker 1 sees worker 2's server still up, so it leaves the fallback out; worker 2 (played
    by the test) then zeroes its server having seen worker 1's still up. Nobody added the
    fallback; worker 1's second look does."""
    shard = Shard(0, 2)
    mine = next(f"rs{i}" for i in range(100) if shard.owns(f"rs{i}"))
    ServiceRecord(KEY, RealServer("10.0.9.9", 8080, "masq")).write("svc")
    theirs = RealServer("10.0.5.5", 80, "masq", 5)
    fake.put(KEY, theirs)                                 # worker 2's server, up

    async def main():
        b = await Backend().start()
        register(mine, record(port=b.port, rise=1, fall=1))
        engine = Engine(lambda: fake, poll=0.02, shard=shard)
        ready = asyncio.Event()
        task = asyncio.create_task(engine.run(ready.set))
        await asyncio.wait_for(ready.wait(), 5)
        try:
            await until(lambda: fake.weights().get(f"127.0.0.1:{b.port}") == 5, what="up")
            await b.stop()
            await until(lambda: fake.weights()[f"127.0.0.1:{b.port}"] == 0, what="down")
            assert "10.0.9.9:8080" not in fake.weights()       # theirs still has weight
            fake.put(KEY, RealServer("10.0.5.5", 80, "masq", 0))   # worker 2's racing write
            started = time.monotonic()
            await until(lambda: "10.0.9.9:8080" in fake.weights(), 10, what="fallback in")
            return time.monotonic() - started
        finally:
            engine.request_stop("test")
            await asyncio.wait_for(task, 5)
    assert asyncio.run(main()) < 5
