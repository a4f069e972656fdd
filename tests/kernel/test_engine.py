"""The check engine against the real kernel: real servers in a namespace, their checks, and
the weights cross-checked with `ipvsadm -Sn`. Registrations are written the way
IPVSRealServer writes them; the engine runs as the detached process agents start."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from lvsocf import state
from lvsocf.engine import client, files
from lvsocf.engine.registry import Shard
from lvsocf.ipvs.model import RealServer
from lvsocf.records import CheckSpec, RealServerRecord, ServiceRecord, key_from_json
from tests.kernel.conftest import ipvsadm, saved

VIP = "10.0.0.1"
SERVICE = {"protocol": "tcp", "address": VIP, "port": 80, "fwmark": 0, "family": "inet"}


def weights() -> dict[str, int]:
    """real server -> weight, from `ipvsadm -Sn` (the independent reader)."""
    out = {}
    for rule in saved():
        words = rule.split()
        if words[0] == "-a":
            out[words[words.index("-r") + 1]] = int(words[words.index("-w") + 1])
    return out


def until(predicate, timeout: float, what: str) -> float:
    """Seconds it took until predicate() held."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}: "
                                 f"{sorted(saved())}")
        time.sleep(0.2)
    return time.monotonic() - start


def published(name: str, **expect) -> dict:
    """The health record of `name` once it says what `expect` says. The engine applies a
    verdict to the kernel at once and writes changed records every PUBLISH_EVERY seconds, so a
    record read right after the kernel changed may still be the one before."""
    def matches() -> bool:
        record = state.read("health", name) or {}
        return all(record.get(k) == v for k, v in expect.items())
    until(matches, 10, f"the health record of {name} to say {expect}")
    return state.read("health", name)


def serve(topo, ns: str, address: str, port: int = 80) -> subprocess.Popen:
    """A small C web server (busybox httpd) on address:port in ns; returns once it listens."""
    proc = topo.spawn(ns, ["busybox", "httpd", "-f", "-p", f"{address}:{port}", "-h", "/tmp"])
    until(lambda: f"{address}:{port} " in topo.exec(ns, ["ss", "-ltnH"]).stdout, 30,
          f"a server on {address}:{port}")
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait()


def registration(rip: str, **kw) -> dict:
    """A `realservers` record as IPVSRealServer writes it (lvsocf.records)."""
    check = {"kind": "tcp", "options": (), "interval": 1.0, "timeout": 0.8, "rise": 2,
             "fall": 2, **kw.pop("check", {})}
    return RealServerRecord(key_from_json(SERVICE), RealServer(rip, 80, "masq", 5),
                            CheckSpec(**check), **kw).to_json()


@pytest.fixture
def engine(tmp_path, monkeypatch, request):
    monkeypatch.setenv("LVSOCF_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("LVSOCF_ENGINE_WORKERS", getattr(request, "param", "1"))
    yield client
    pid = files.running_pid()
    if pid:
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def backends(nat_topology):
    topo, cl, rs = nat_topology
    topo.address(rs, "eth0", "10.0.1.2/24", "10.0.1.3/24")
    return topo, rs


def register(name: str, data: dict) -> None:
    state.write("realservers", name, data)
    client.ensure_running()
    client.notify()


@pytest.mark.parametrize("engine", ["1", "2"], indirect=True, ids=["one", "two-workers"])
def test_fall_rise_quiescent_remove_and_fallback(engine, backends):
    """With two workers, a and b are in different workers' shares: the service is split."""
    topo, rs = backends
    b_name = next(n for n in ("b", "b1", "b2", "b3", "b4", "b5")
                  if Shard(0, 2).owns(n) != Shard(0, 2).owns("a"))
    ipvsadm("-A", "-t", f"{VIP}:80", "-s", "wlc")
    # the service's fallback, as IPVSService records and adds it
    ServiceRecord(key_from_json(SERVICE), RealServer("10.0.9.9", 80, "masq")).write("web")
    ipvsadm("-a", "-t", f"{VIP}:80", "-r", "10.0.9.9:80", "-m", "-w", "1")
    ipvsadm("-a", "-t", f"{VIP}:80", "-r", "10.0.7.7:80", "-m", "-w", "0")  # not ours
    a, b = serve(topo, rs, "10.0.1.1"), serve(topo, rs, "10.0.1.2")
    register("a", registration("10.0.1.1"))
    register(b_name, registration("10.0.1.2", failure_action="remove"))
    until(lambda: weights().get("10.0.1.1:80") == 5 and weights().get("10.0.1.2:80") == 5,
          30, "both up after rise")
    assert "10.0.9.9:80" not in weights(), "the fallback leaves once one is up"
    log = files.path(files.LOG).read_text()
    assert "(10.0.1.1:80 of tcp 10.0.0.1:80): in the kernel with weight 0" in log
    assert "(10.0.1.2:80 of tcp 10.0.0.1:80): weight 0 -> 5" in log

    stop(a)
    took = until(lambda: weights()["10.0.1.1:80"] == 0, 30, "a quiescent after fall")
    assert took >= 0.5, "fall=2 at 1s intervals cannot take effect at once"
    h = published("a", state="down", weight=0)
    assert not h["healthy"]
    assert "10.0.9.9:80" not in weights()

    stop(b)
    until(lambda: "10.0.1.2:80" not in weights(), 30, "b removed after fall")
    until(lambda: weights().get("10.0.9.9:80") == 1, 10, "the fallback in: nothing has weight")

    serve(topo, rs, "10.0.1.1")
    until(lambda: weights()["10.0.1.1:80"] == 5, 30, "a back after rise")
    until(lambda: "10.0.9.9:80" not in weights(), 10, "the fallback out: the first one back")
    serve(topo, rs, "10.0.1.2")
    until(lambda: weights().get("10.0.1.2:80") == 5, 30, "b re-added after rise")
    assert weights()["10.0.7.7:80"] == 0, "an entry nobody registered is never touched"
    published(b_name, state="up")
    status = state.read("engine", "status") or {}
    if os.environ["LVSOCF_ENGINE_WORKERS"] == "2":
        assert len(status["workers"]) == 2
        assert {state.read("health", n)["engine_pid"] for n in ("a", b_name)} == \
            {w["pid"] for w in status["workers"]}


def test_sigkill_changes_nothing_and_a_restart_resumes(engine, backends):
    topo, rs = backends
    ipvsadm("-A", "-t", f"{VIP}:80", "-s", "rr")
    up, down = serve(topo, rs, "10.0.1.1"), serve(topo, rs, "10.0.1.2")
    register("up", registration("10.0.1.1"))
    register("down", registration("10.0.1.2"))
    until(lambda: weights() == {"10.0.1.1:80": 5, "10.0.1.2:80": 5}, 30, "both up")
    stop(down)
    until(lambda: weights()["10.0.1.2:80"] == 0, 30, "down quiescent")
    before = weights()
    pid = client.running_pid()
    os.kill(pid, signal.SIGKILL)
    stop(up)                      # fails while no engine runs: nothing may change
    until(lambda: client.running_pid() is None, 10, "the dead engine's lock to go")
    time.sleep(3)
    assert weights() == before
    up = serve(topo, rs, "10.0.1.1")      # and is back before an engine returns
    new = client.ensure_running()
    assert new != pid
    until(lambda: (state.read("health", "up") or {}).get("engine_pid") == new, 30,
          "the new engine to publish")
    assert state.read("health", "up")["state"] == "up"
    assert state.read("health", "down")["state"] == "down"
    time.sleep(3)                 # three check intervals of the new engine: no flap
    assert weights() == before
    log = files.path(files.LOG).read_text().splitlines()
    mine = [line for line in log if f"[{new}]" in line]
    assert any("up (10.0.1.1:80 of tcp 10.0.0.1:80): resumed up" in line for line in mine)
    assert any("resumed down" in line for line in mine)
    assert not any("weight" in line or "->" in line for line in mine), mine
    # and its own verdicts work
    stop(up)
    until(lambda: weights()["10.0.1.1:80"] == 0, 30, "the new engine's verdict")


def test_half_open_checks_take_a_backend_out_and_back_without_connecting(engine, backends):
    topo, rs = backends
    ipvsadm("-A", "-t", f"{VIP}:80", "-s", "rr")
    web = serve(topo, rs, "10.0.1.1")
    register("h", registration("10.0.1.1", check={"kind": "tcp-half-open"}))
    until(lambda: weights().get("10.0.1.1:80") == 5, 30, "up after rise")
    assert published("h", state="up")["detail"] == "SYN-ACK"
    stop(web)
    until(lambda: weights()["10.0.1.1:80"] == 0, 30, "quiescent after fall")
    assert published("h", state="down")["detail"] == "Connection refused"
    # a listener that never accepts: up, and its accept queue stays empty
    listener = topo.spawn(rs, [sys.executable, "-c", (
        "import socket, time\n"
        "s = socket.socket(); s.bind(('10.0.1.1', 80)); s.listen(16)\n"
        "time.sleep(8)\n"
        "s.setblocking(False)\n"
        "try:\n    s.accept(); print('accepted')\n"
        "except BlockingIOError:\n    print('nothing to accept')\n")],
        stdout=subprocess.PIPE, text=True)
    until(lambda: weights()["10.0.1.1:80"] == 5, 30, "up again after rise")
    assert listener.communicate(timeout=30)[0].strip() == "nothing to accept"
