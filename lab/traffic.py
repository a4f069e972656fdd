"""Client traffic for failover measurements, run in a client namespace.

Holds N long-lived TCP connections to an echo service: `active` ones send a line every second,
`idle` ones only every --keepalive seconds. A prober opens a new connection every --probe
seconds (each probe on its own, so a failing one does not delay the next). Every event goes
to stdout as one JSON line; SIGTERM ends it with a summary line.

    python -m lab.traffic VIP PORT --active 5 --idle 20 --keepalive 10
"""
from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time


def emit(**event) -> None:
    event["t"] = round(time.time(), 3)
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


class Conn:
    def __init__(self, ident: str, period: float) -> None:
        self.ident = ident
        self.period = period
        self.rounds = 0
        self.broken: str | None = None
        self.max_rtt = 0.0

    async def run(self, host: str, port: int, timeout: float) -> None:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
        except (TimeoutError, OSError) as exc:
            self.broken = f"connect: {exc!r}"
            emit(kind="broken", conn=self.ident, why=self.broken)
            return
        emit(kind="open", conn=self.ident, local=writer.get_extra_info("sockname")[1])
        try:
            while True:
                line = f"{self.ident} {self.rounds}\n".encode()
                start = time.monotonic()
                writer.write(line)
                await writer.drain()
                echoed = await asyncio.wait_for(reader.readexactly(len(line)), timeout)
                if echoed != line:
                    raise ValueError("echo mismatch")
                rtt = time.monotonic() - start
                self.max_rtt = max(self.max_rtt, rtt)
                if rtt > 1.0:
                    emit(kind="slow", conn=self.ident, rtt=round(rtt, 2))
                self.rounds += 1
                await asyncio.sleep(self.period)
        except (TimeoutError, OSError, ValueError, asyncio.IncompleteReadError) as exc:
            self.broken = repr(exc)
            emit(kind="broken", conn=self.ident, why=self.broken)


async def probe_once(host: str, port: int, stats: dict) -> None:
    """One new connection and one echo. An outage starts when the first probe that fails
    was started and ends with the first success of a probe started after that."""
    began = time.time()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2)
        writer.write(b"probe\n")
        await asyncio.wait_for(reader.readexactly(6), 2)
        writer.close()
    except (TimeoutError, OSError, asyncio.IncompleteReadError):
        stats["failed"] += 1
        if stats["failing_since"] is None:
            stats["failing_since"] = began
            emit(kind="probe-failing")
        return
    stats["ok"] += 1
    since = stats["failing_since"]
    if since is not None and began >= since:
        emit(kind="probe-recovered", down=round(time.time() - since, 2))
        stats["failing_since"] = None


async def probe(host: str, port: int, every: float, stats: dict) -> None:
    """A new probe every `every` seconds, each on its own (a failing one waits for its
    timeout without holding up the next), so an outage is timed to `every`."""
    pending: set[asyncio.Task] = set()
    while True:
        task = asyncio.create_task(probe_once(host, port, stats))
        pending.add(task)
        task.add_done_callback(pending.discard)
        await asyncio.sleep(every)


async def main_async(opts: argparse.Namespace) -> None:
    conns = [Conn(f"active{i}", 1.0) for i in range(opts.active)]
    conns += [Conn(f"idle{i}", opts.keepalive) for i in range(opts.idle)]
    stats = {"ok": 0, "failed": 0, "failing_since": None}
    tasks = [asyncio.create_task(c.run(opts.host, opts.port, opts.timeout)) for c in conns]
    if opts.probe:
        tasks.append(asyncio.create_task(probe(opts.host, opts.port, opts.probe, stats)))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    emit(kind="started", conns=len(conns))
    await stop.wait()
    for task in tasks:
        task.cancel()
    emit(kind="summary", kept=sum(1 for c in conns if c.broken is None and c.rounds > 0),
         total=len(conns), broken={c.ident: c.broken for c in conns if c.broken},
         rounds={c.ident: c.rounds for c in conns},
         max_rtt=round(max((c.max_rtt for c in conns), default=0.0), 2),
         probes_ok=stats["ok"], probes_failed=stats["failed"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--active", type=int, default=2)
    parser.add_argument("--idle", type=int, default=10)
    parser.add_argument("--keepalive", type=float, default=10.0)
    parser.add_argument("--probe", type=float, default=0.2, help="seconds; 0 = no prober")
    parser.add_argument("--timeout", type=float, default=90.0,
                        help="how long one echo may take before the connection counts as lost")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
