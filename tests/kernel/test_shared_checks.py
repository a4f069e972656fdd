"""Shared checks against the real kernel: one real server in three services with the same
check gets one check per interval (counted at the backend), and each service's entry keeps
its own weight and failure action (`ipvsadm -Sn`)."""
from __future__ import annotations

import subprocess
import sys
import time

from lvsocf.ipvs.model import RealServer, ServiceKey
from lvsocf.records import CheckSpec, RealServerRecord
from tests.kernel.conftest import saved
from tests.kernel.test_engine import (  # noqa: F401  (fixtures)
    VIP,
    backends,
    engine,
    register,
    until,
)

PORTS = (80, 81, 82)
INTERVAL = 0.5
DIRECTOR = "10.0.1.254"     # checks come from the director's address on the real servers' side

COUNT = """
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 80)); s.listen(64)
while True:
    c, peer = s.accept()
    print(f"{time.time():.3f} {peer[0]}", flush=True)
    c.close()
"""


def entries() -> dict[int, int | None]:
    """service port -> weight of 10.0.1.1:80 in it (None: no entry), from ipvsadm -Sn."""
    out: dict[int, int | None] = dict.fromkeys(PORTS)
    for rule in saved():
        words = rule.split()
        if words[0] == "-a" and words[words.index("-r") + 1] == "10.0.1.1:80":
            out[int(words[words.index("-t") + 1].rsplit(":", 1)[1])] = \
                int(words[words.index("-w") + 1])
    return out


def _record(port: int, weight: int, failure_action: str) -> dict:
    check = CheckSpec("tcp", (), INTERVAL, 0.4, 1, 1)
    return RealServerRecord(ServiceKey("tcp", VIP, port), RealServer("10.0.1.1", 80, "masq",
                            weight), check, failure_action).to_json()


def test_one_check_for_three_services(engine, backends):  # noqa: F811
    topo, rs = backends
    for port in PORTS:
        subprocess.run(["ipvsadm", "-A", "-t", f"{VIP}:{port}", "-s", "wlc"], check=True)
    server = topo.spawn(rs, [sys.executable, "-c", COUNT, "10.0.1.1"], stdout=subprocess.PIPE,
                        text=True)
    for port, weight, action in zip(PORTS, (5, 3, 7), ("quiescent", "remove", "quiescent"),
                                    strict=True):
        register(f"web{port}", _record(port, weight, action))
    until(lambda: entries() == {80: 5, 81: 3, 82: 7}, 60, "all three up with their weights")
    began = time.time()
    time.sleep(10)
    ended = time.time()
    server.kill()
    out = server.communicate(timeout=30)[0]
    checks = [float(at) for at, peer in (line.split() for line in out.splitlines())
              if peer == DIRECTOR and began <= float(at) < ended]
    per_interval = len(checks) / ((ended - began) / INTERVAL)
    print(f"\nchecks at the backend: {len(checks)} in {ended - began:.1f}s, "
          f"{per_interval:.2f} per {INTERVAL}s interval for 3 services")
    assert 0.5 <= per_interval <= 1.3, per_interval            # unshared: 3
    until(lambda: entries() == {80: 0, 81: None, 82: 0}, 60, "the server down, each its way")
