"""Slow start against the real kernel: with wlc, a real server that comes back with no
connections gets every new connection until it has as many as the others (a cold backend
flooded). With slow_start its weight ramps from 1 and it gets a growing share instead.

Counted at the backends: each accepts and holds the client's connections and logs when.
A client opens connections at a steady rate and keeps them open (active connections are
what wlc weighs). Printed: each second's share of new connections at the returning server,
with and without slow start."""
from __future__ import annotations

import subprocess
import sys
import time

from lvsocf import state
from lvsocf.engine import client
from tests.kernel.test_engine import (  # noqa: F401  (fixtures)
    VIP,
    backends,
    engine,
    register,
    registration,
    until,
    weights,
)

BACKEND = """
import collections, socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 80)); s.listen(512)
held = collections.deque()
while True:
    c, peer = s.accept()
    print(f"{time.time():.3f} {peer[0]}", flush=True)
    held.append((time.monotonic(), c))
    while held and held[0][0] < time.monotonic() - 30:
        held.popleft()[1].close()
"""

OPEN = """
import collections, socket, sys, time
rate, hold = float(sys.argv[2]), float(sys.argv[3])
held, start, n = collections.deque(), time.monotonic(), 0
while True:
    n += 1
    try:
        held.append((time.monotonic(), socket.create_connection((sys.argv[1], 80), timeout=5)))
    except OSError:
        pass
    while held and held[0][0] < time.monotonic() - hold:
        held.popleft()[1].close()
    time.sleep(max(0.0, start + n / rate - time.monotonic()))
"""
# The client opens RATE connections a second and holds each HOLD seconds: the first server
# holds RATE x HOLD connections when the second returns, which without slow start takes
# every new connection for about HOLD / 2 seconds (until the two hold as many).
RATE = 20.0
HOLD = 12.0
WEIGHT = 10
SLOW_START = 20.0
BEFORE, AFTER = HOLD, 20.0  # seconds of traffic before the second server returns, and after
ROWS = 14                   # seconds counted from the returning server's first connection
CLIENT = "10.0.0.2"
CHECK = {"interval": 0.5, "rise": 1, "fall": 1, "timeout": 0.4}


def _accepts(proc: subprocess.Popen) -> list[float]:
    proc.kill()
    out = proc.communicate(timeout=30)[0]
    return [float(at) for at, peer in (line.split() for line in out.splitlines())
            if peer == CLIENT]


def _weighted(record: dict) -> dict:
    record["real_server"]["weight"] = WEIGHT
    return record


def _run(topo, rs, cl, name: str, slow_start: float) -> list[tuple[int, int]]:
    """(new connections at the first server, at the returning one) in each second after the
    returning one's first connection."""
    server_a = topo.spawn(rs, [sys.executable, "-c", BACKEND, "10.0.1.1"],
                          stdout=subprocess.PIPE, text=True)
    register(f"{name}-a", _weighted(registration("10.0.1.1", check=CHECK)))
    register(f"{name}-b", _weighted(registration("10.0.1.2", slow_start=slow_start,
                                                 check=CHECK)))
    until(lambda: weights() == {"10.0.1.1:80": WEIGHT, "10.0.1.2:80": 0}, 60, "a up, b down")
    client = topo.spawn(cl, [sys.executable, "-c", OPEN, VIP, str(RATE), str(HOLD)])
    time.sleep(BEFORE)
    back = time.time()
    server_b = topo.spawn(rs, [sys.executable, "-c", BACKEND, "10.0.1.2"],
                          stdout=subprocess.PIPE, text=True)
    seen = []
    deadline = time.monotonic() + AFTER
    while time.monotonic() < deadline:
        w = weights().get("10.0.1.2:80")
        if not seen or seen[-1] != w:
            seen.append(w)
        time.sleep(0.2)
    client.kill()
    client.wait()
    until(lambda: weights().get("10.0.1.2:80") == WEIGHT, 60, "the configured weight")
    if seen[-1] != WEIGHT:
        seen.append(WEIGHT)
    a, b = _accepts(server_a), _accepts(server_b)
    print(f"\n{name} (slow_start={slow_start:g}): the returning server's weights, as "
          f"ipvsadm -Sn showed them: {seen}")
    if slow_start:
        assert len(set(seen) - {0}) >= 3, f"no ramp: {seen}"
    assert b, "the returning server got no connection"
    first = min(b)
    print(f"{name}: the returning server's backend started; its first connection "
          f"{first - back:.1f}s later")
    return [(sum(first + s <= t < first + s + 1 for t in a),
             sum(first + s <= t < first + s + 1 for t in b)) for s in range(ROWS)]


def _share(rows: list[tuple[int, int]]) -> float:
    total = sum(a + b for a, b in rows)
    return sum(b for _, b in rows) / total if total else 0.0


def test_slow_start_spares_a_returning_backend(engine, backends):  # noqa: F811
    topo, rs = backends
    cl = next(ns for ns in topo.namespaces if ns.endswith("cl"))
    subprocess.run(["ipvsadm", "-A", "-t", f"{VIP}:80", "-s", "wlc"], check=True)
    cold = _run(topo, rs, cl, "without", 0.0)
    for proc in topo.procs:
        if proc.poll() is None:
            proc.kill()
    for name in ("without-a", "without-b"):
        state.remove("realservers", name)
    client.notify()
    until(lambda: not state.all_of("health"), 30, "the engine to let go of the first run")
    subprocess.run(["ipvsadm", "-C"], check=True)
    subprocess.run(["ipvsadm", "-A", "-t", f"{VIP}:80", "-s", "wlc"], check=True)
    ramped = _run(topo, rs, cl, "slow", SLOW_START)
    print(f"new connections per second after the returning server's first one "
          f"(first server/returning server, returning server's share)\n"
          f"second  without slow start     with slow_start={SLOW_START:g}")
    for s, ((a0, b0), (a1, b1)) in enumerate(zip(cold, ramped, strict=True)):
        print(f"{s:6d}  {a0:4d}/{b0:<4d} {b0 / max(1, a0 + b0):5.0%}"
              f"       {a1:4d}/{b1:<4d} {b1 / max(1, a1 + b1):5.0%}")
    flood = int(HOLD / 2)
    shares = (_share(cold[:flood]), _share(ramped[:flood]))
    print(f"the returning server's share of new connections in its first {flood} s: "
          f"without slow start {shares[0]:.0%}, with slow_start={SLOW_START:g} {shares[1]:.0%}")
    assert shares[0] >= 0.8, cold            # the flood slow start is for
    assert shares[1] <= 0.7 * shares[0], ramped
