"""ocf:lvsocf:IPVSRealServer against the real kernel, cross-checked with `ipvsadm -Sn`:
lifecycle with degraded/recovered monitor, a killed engine restarted by monitor without any
weight change, graceful drain on stop, 50 concurrent starts. (ocf-tester runs on the installed
package: tests/installed.)"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.kernel.conftest import (
    LongLivedClient,
    bash_only,
    checkout_env,
    ipvsadm,
    saved,
    start_echo_server,
)
from tests.kernel.test_engine import serve, stop, until, weights

SVC = {"vip": "10.0.0.1", "port": 80}
FAST = {"check_interval": 1, "check_timeout": 0.8, "rise": 2, "fall": 2}
RECURRING = {"OCF_RESKEY_CRM_meta_interval": "10000"}


def rc(done: subprocess.CompletedProcess) -> int:
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    return done.returncode


def read(state_dir: str, kind: str, name: str) -> dict | None:
    try:
        return json.loads((Path(state_dir) / kind / f"{name}.json").read_text())
    except FileNotFoundError:
        return None


def engine_pid(state_dir: str) -> int | None:
    from lvsocf.engine import files
    os.environ["LVSOCF_STATE_DIR"] = state_dir
    return files.running_pid()


@pytest.fixture
def rs(agent_factory):
    agent = agent_factory("IPVSRealServer")
    yield agent
    pid = engine_pid(agent.state_dir)
    if pid:
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def backends(nat_topology):
    topo, cl, rsns = nat_topology
    topo.address(rsns, "eth0", "10.0.1.2/24")
    ipvsadm("-A", "-t", "10.0.0.1:80", "-s", "rr")
    return topo, cl, rsns


def test_lifecycle_degraded_engine_restart_and_stop(rs, backends):
    topo, cl, rsns = backends
    server = serve(topo, rsns, "10.0.1.1")
    params = {**SVC, "rip": "10.0.1.1", "method": "masq", "weight": 3, "drain_timeout": 0,
              **FAST}
    assert rc(rs("start", instance="web-rs1", **params)) == 0
    assert "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w" in " ".join(saved())
    assert rc(rs("monitor", instance="web-rs1", env=RECURRING, **params)) == 0
    until(lambda: weights().get("10.0.1.1:80") == 3, 30, "weight after rise")
    log = (Path(rs.state_dir) / "engine.log").read_text()
    assert "web-rs1 (10.0.1.1:80 of tcp 10.0.0.1:80): in the kernel with weight 0" in log
    assert rc(rs("start", instance="web-rs1", **params)) == 0        # idempotent

    stop(server)
    until(lambda: (read(rs.state_dir, "health", "web-rs1") or {}).get("state") == "down", 30,
          "down after fall")
    assert weights()["10.0.1.1:80"] == 0
    done = rs("monitor", instance="web-rs1", env=RECURRING, **params)
    assert rc(done) == 190 and "10.0.1.1:80 is down" in done.stderr, done.stderr

    # the engine dies: nothing changes, and the next monitor brings it back
    pid = engine_pid(rs.state_dir)
    os.kill(pid, signal.SIGKILL)
    time.sleep(2)
    assert weights() == {"10.0.1.1:80": 0}
    done = rs("monitor", instance="web-rs1", env=RECURRING, **params)
    assert rc(done) == 190, done.stderr
    new = engine_pid(rs.state_dir)
    assert new and new != pid
    until(lambda: (read(rs.state_dir, "health", "web-rs1") or {}).get("engine_pid") == new,
          30, "the new engine to publish")
    assert weights() == {"10.0.1.1:80": 0}
    serve(topo, rsns, "10.0.1.1")
    until(lambda: weights().get("10.0.1.1:80") == 3, 30, "back after rise")
    assert rc(rs("monitor", instance="web-rs1", env=RECURRING, **params)) == 0

    # reload-agent: new weight and check settings, health state kept
    changed = {**params, "weight": 4, "check_interval": 2, "rise": 3}
    assert rc(rs("reload-agent", instance="web-rs1", **changed)) == 0
    until(lambda: weights().get("10.0.1.1:80") == 4, 20, "new weight")
    assert read(rs.state_dir, "health", "web-rs1")["state"] in ("up", "soft_down")

    # Pacemaker stops with the new parameters after a change: what start added goes
    assert rc(rs("stop", instance="web-rs1", **{**changed, "rip": "10.0.1.9"})) == 0
    assert weights() == {}
    assert read(rs.state_dir, "realservers", "web-rs1") is None
    assert read(rs.state_dir, "health", "web-rs1") is None
    assert rc(rs("monitor", instance="web-rs1", env=RECURRING, **params)) == 7
    assert rc(rs("stop", instance="web-rs1", **params)) == 0
    assert saved() == {"-A -t 10.0.0.1:80 -s rr"}


def test_monitor_fast_path_reads_the_kernel_and_the_engine_afresh(rs, backends, tmp_path):
    """After a full monitor succeeded, recurring monitors answer in bash (no Python: the
    bash-only copy's Python is /bin/false) while the real server is as that monitor saw it,
    and hand over to Python as soon as anything differs: the entry gone (ipvsadm -d), the
    backend down, the engine killed, a parameter changed."""
    topo, cl, rsns = backends
    server = serve(topo, rsns, "10.0.1.1")
    params = {**SVC, "rip": "10.0.1.1", "method": "masq", "weight": 2, **FAST}
    fast = bash_only(rs, tmp_path)

    def monitor(agent=rs, **env) -> int:
        return rc(agent("monitor", instance="web-rs1", env={**RECURRING, **env}, **params))

    assert rc(rs("start", instance="web-rs1", **params)) == 0
    until(lambda: weights().get("10.0.1.1:80") == 2, 30, "weight after rise")
    assert monitor(fast) == 1                   # no full monitor yet: no ticket
    assert monitor() == 0                       # the full monitor writes the ticket
    assert monitor(fast) == 0
    assert monitor(fast, OCF_RESKEY_CRM_meta_interval="0") == 1     # probes are Python's
    assert rc(fast("monitor", instance="web-rs1", env=RECURRING,
                   **{**params, "weight": 3})) == 1

    ipvsadm("-d", "-t", "10.0.0.1:80", "-r", "10.0.1.1:80")        # outside the cluster
    assert "10.0.1.1:80" not in weights()
    assert monitor(fast) == 1
    assert monitor() == 7                       # Python's answer: Pacemaker recovers,
    assert rc(rs("stop", instance="web-rs1", **params)) == 0               # stop, start
    assert rc(rs("start", instance="web-rs1", **params)) == 0
    until(lambda: weights().get("10.0.1.1:80") == 2, 30, "weight after the new start")
    assert monitor(fast) == 1                   # the actions dropped the ticket
    assert monitor() == 0 and monitor(fast) == 0

    stop(server)
    until(lambda: (read(rs.state_dir, "health", "web-rs1") or {}).get("state") == "down", 30,
          "down after fall")
    assert monitor(fast) == 1
    assert monitor() == 190                     # Python's answer: degraded
    assert monitor(fast) == 1                   # and no ticket after it
    serve(topo, rsns, "10.0.1.1")
    until(lambda: weights().get("10.0.1.1:80") == 2, 30, "back after rise")
    assert monitor() == 0 and monitor(fast) == 0

    pid = engine_pid(rs.state_dir)
    os.kill(pid, signal.SIGKILL)
    time.sleep(1)
    assert monitor(fast) == 1                   # a dead engine is Python's to restart
    assert monitor() == 0 and engine_pid(rs.state_dir) not in (None, pid)
    until(lambda: monitor(fast) == 0, 30, "the new engine's cycle in the ticket's checks")
    os.kill(engine_pid(rs.state_dir), signal.SIGSTOP)      # hung: its cycle goes stale
    try:
        until(lambda: monitor(fast) == 1, 60, "a hung engine to leave the fast path")
    finally:
        os.kill(engine_pid(rs.state_dir), signal.SIGCONT)
    assert rc(rs("stop", instance="web-rs1", **params)) == 0
    assert monitor(fast) == 1 and monitor() == 7


ONE = {**SVC, "rip": "10.0.1.1", "method": "masq", "rise": 1, "check_interval": 1,
       "drain_timeout": 60}


def _stop_while_connected(rs, backends) -> tuple[LongLivedClient, subprocess.Popen]:
    """rs1 up with a client connection through it, and its stop running (draining)."""
    topo, cl, rsns = backends
    start_echo_server(topo, rsns, "0.0.0.0", 80)
    assert rc(rs("start", instance="rs1", **ONE)) == 0
    until(lambda: weights().get("10.0.1.1:80") == 1, 30, "rs1 up")
    client = LongLivedClient(topo, cl, "10.0.0.1", 80)
    assert client.talk("hello") == "hello"
    stopping = subprocess.Popen([rs.path, "stop"], env=_env(rs, "rs1", ONE),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    until(lambda: weights().get("10.0.1.1:80") == 0, 30, "weight 0 while draining")
    return client, stopping


def test_stop_drains_until_connections_end_or_drain_timeout(rs, backends):
    topo, cl, rsns = backends
    client, stopping = _stop_while_connected(rs, backends)
    began = time.monotonic()
    one = ONE
    # the engine drains (stop only records the deadline): it is the only writer
    assert read(rs.state_dir, "realservers", "rs1")["draining"] > time.time() + 30
    assert "rs1 (10.0.1.1:80 of tcp 10.0.0.1:80): draining for up to" in \
        (Path(rs.state_dir) / "engine.log").read_text()
    time.sleep(2)
    assert stopping.poll() is None and "10.0.1.1:80" in weights(), "held by the connection"
    assert client.talk("still there") == "still there"
    client.proc.kill()
    client.proc.wait()
    out, err = stopping.communicate(timeout=60)
    assert stopping.returncode == 0, err
    assert time.monotonic() - began < 50, "ended by the connection, not by drain_timeout"
    assert "10.0.1.1:80" not in weights()

    two = {**one, "rip": "10.0.1.2", "drain_timeout": 3}
    assert rc(rs("start", instance="rs2", **two)) == 0
    until(lambda: weights().get("10.0.1.2:80") == 1, 30, "rs2 up")
    held = LongLivedClient(topo, cl, "10.0.0.1", 80)
    assert held.talk("x") == "x"
    began = time.monotonic()
    assert rc(rs("stop", instance="rs2", **two)) == 0
    assert time.monotonic() - began >= 3, "waited for the connection until drain_timeout"
    assert "10.0.1.2:80" not in weights()
    # (the kernel now drops that connection's packets: what the drain was there to avoid)
    held.proc.kill()


def test_a_drain_survives_the_engine_dying(rs, backends):
    """The engine dies during a drain: nothing changes while none runs; stop starts a new one,
    which resumes the drain from the record and removes the entry once the connection ends."""
    client, stopping = _stop_while_connected(rs, backends)
    pid = engine_pid(rs.state_dir)
    os.kill(pid, signal.SIGKILL)
    until(lambda: engine_pid(rs.state_dir) not in (None, pid), 30, "stop to restart it")
    assert weights() == {"10.0.1.1:80": 0} and stopping.poll() is None
    client.proc.kill()
    client.proc.wait()
    out, err = stopping.communicate(timeout=90)
    assert stopping.returncode == 0, err
    assert weights() == {}
    assert read(rs.state_dir, "realservers", "rs1") is None
    assert read(rs.state_dir, "health", "rs1") is None
    assert rc(rs("stop", instance="rs1", **ONE)) == 0      # and stop is idempotent


def test_stop_removes_the_entry_itself_when_the_engine_is_frozen(rs, backends):
    """A stopped (SIGSTOP) engine cannot remove the entry: stop removes it directly, without
    draining, inside its timeout, rather than fail (a failed stop gets the director fenced)."""
    topo, _, rsns = backends
    start_echo_server(topo, rsns, "0.0.0.0", 80)
    assert rc(rs("start", instance="rs1", **ONE)) == 0
    until(lambda: weights() == {"10.0.1.1:80": 1}, 30, "the real server up")
    pid = engine_pid(rs.state_dir)
    os.kill(pid, signal.SIGSTOP)
    try:
        began = time.monotonic()
        done = rs("stop", instance="rs1", env={"OCF_RESKEY_CRM_meta_timeout": "20000"}, **ONE)
        took = time.monotonic() - began
    finally:
        os.kill(pid, signal.SIGCONT)
    assert rc(done) == 0, done.stderr
    assert took < 20, took
    assert "removing it directly" in done.stderr
    assert "10.0.1.1:80" not in ipvsadm("-Sn")
    assert read(rs.state_dir, "realservers", "rs1") is None
    time.sleep(2)                   # the engine, running again, leaves the table alone
    assert weights() == {}


def _env(agent, instance: str, params: dict) -> dict:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "OCF_ROOT": "/usr/lib/ocf",
           "OCF_RESOURCE_INSTANCE": instance, "LVSOCF_STATE_DIR": agent.state_dir,
           "OCF_RESKEY_CRM_meta_timeout": "120000", **checkout_env()}
    env.update({f"OCF_RESKEY_{k}": str(v) for k, v in params.items()})
    return env


def test_fifty_concurrent_starts_lose_none(rs, backends):
    n = 50
    procs = [subprocess.Popen(
        [rs.path, "start"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=_env(rs, f"rs{i}", {**SVC, "rip": f"10.0.2.{i}", "check_type": "none",
                                "rise": 1, "check_interval": 2}))
        for i in range(1, n + 1)]
    failed = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        if p.returncode != 0 or "Traceback" in err:
            failed.append((p.returncode, err[-300:]))
    assert not failed, failed[:3]
    rules = saved()
    assert {f"10.0.2.{i}:80" for i in range(1, n + 1)} <= set(weights()), rules
    health = [read(rs.state_dir, "health", f"rs{i}") for i in range(1, n + 1)]
    assert all(h and h["engine_pid"] == health[0]["engine_pid"] for h in health)
    until(lambda: (read(rs.state_dir, "engine", "status") or {}).get("registrations") == n,
          30, "the engine to count every registration")
    until(lambda: set(weights().values()) == {1}, 60, "every check_type=none real server up")


def test_start_without_its_service_fails_with_a_reason(rs):
    done = rs("start", vip="10.0.0.1", port=80, rip="10.0.1.1")
    assert rc(done) == 1 and "service tcp 10.0.0.1:80 does not exist" in done.stderr
    assert saved() == set()


def test_a_service_restarted_in_place_gets_its_real_servers_back(rs, agent_factory, backends):
    """Hot standby restarts a failed service in place with its real-server clones left
    running: the engine re-adds them at once (no IPVSRealServer action), with the weight
    its health verdict says."""
    topo, cl, rsns = backends
    service = agent_factory("IPVSService")
    ipvsadm("-D", "-t", "10.0.0.1:80")
    svc = {**SVC, "scheduler": "rr"}
    assert rc(service("start", instance="web", **svc)) == 0
    serve(topo, rsns, "10.0.1.1")
    params = {**SVC, "rip": "10.0.1.1", "method": "masq", "weight": 3, "drain_timeout": 0,
              **FAST}
    assert rc(rs("start", instance="web-rs1", **params)) == 0
    down = {**params, "rip": "10.0.1.2", "weight": 2}       # nothing listens there
    assert rc(rs("start", instance="web-rs2", **down)) == 0
    until(lambda: weights() == {"10.0.1.1:80": 3, "10.0.1.2:80": 0}, 30, "verdicts")

    assert rc(service("stop", instance="web", **svc)) == 0
    assert saved() == set()
    assert rc(service("start", instance="web", **svc)) == 0
    began = time.monotonic()
    until(lambda: weights() == {"10.0.1.1:80": 3, "10.0.1.2:80": 0}, 30,
          "the real servers back, each with its verdict's weight")
    print(f"re-added {time.monotonic() - began:.1f}s after the service start")
    assert rc(rs("monitor", instance="web-rs1", env=RECURRING, **params)) == 0
    assert rc(rs("monitor", instance="web-rs2", env=RECURRING, **down)) == 190
