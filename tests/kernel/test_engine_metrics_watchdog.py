"""The engine's Prometheus metrics and its watchdog against the real kernel, through
IPVSRealServer: two real servers (one up, one whose backend is down), the .prom file the
engine writes and `lvsocf status --format prometheus`, both parsed with prometheus_client and
checked against `ipvsadm -Sn` (the independent reader); then a SIGSTOPped engine: monitor
fails with the cycle's age, Pacemaker's recovery (stop, start) restarts the engine, and no
weight in the kernel changes at any point."""
from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.kernel.conftest import checkout_env, saved
from tests.kernel.test_agent_realserver import RECURRING, engine_pid, rc, read
from tests.kernel.test_engine import serve, until, weights

SVC = {"vip": "10.0.0.1", "port": 80, "method": "masq", "weight": 3, "drain_timeout": 0,
       "check_interval": 1, "check_timeout": 0.8, "rise": 1, "fall": 1}
RS = {"web-up": {**SVC, "rip": "10.0.1.1"}, "web-down": {**SVC, "rip": "10.0.1.2"}}


@pytest.fixture
def rs(agent_factory):
    from lvsocf.engine import files
    agent = agent_factory("IPVSRealServer")
    yield agent
    os.environ["LVSOCF_STATE_DIR"] = agent.state_dir
    pid = files.running_pid()
    if pid:
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def two_up_one_down(rs, nat_topology, tmp_path):
    """web-up (backend serving) and web-down (no backend) registered; the engine writes
    metrics every second to tmp_path/metrics/lvsocf.prom."""
    from tests.kernel.conftest import ipvsadm
    topo, _, rsns = nat_topology
    topo.address(rsns, "eth0", "10.0.1.2/24")
    ipvsadm("-A", "-t", "10.0.0.1:80", "-s", "rr")
    serve(topo, rsns, "10.0.1.1")
    prom = tmp_path / "metrics" / "lvsocf.prom"
    prom.parent.mkdir()
    env = {"LVSOCF_ENGINE_METRICS_FILE": str(prom), "LVSOCF_ENGINE_METRICS_INTERVAL": "1"}
    for name, params in RS.items():
        assert rc(rs("start", instance=name, env=env, **params)) == 0
    until(lambda: weights() == {"10.0.1.1:80": 3, "10.0.1.2:80": 0}, 30, "one up, one down")
    until(lambda: (read(rs.state_dir, "health", "web-down") or {}).get("state") == "down", 30,
          "web-down down")
    return rs, prom


def samples(text: str) -> dict[tuple, float]:
    """(name, resource, state) -> value, parsed by prometheus_client."""
    return {(s.name, s.labels.get("resource"), s.labels.get("state")): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def check_against_kernel(text: str) -> None:
    got = samples(text)
    kernel = weights()
    for name, rip in (("web-up", "10.0.1.1:80"), ("web-down", "10.0.1.2:80")):
        assert got[("lvsocf_real_server_weight", name, None)] == kernel[rip]
        assert got[("lvsocf_real_server_configured_weight", name, None)] == 3
    assert got[("lvsocf_real_server_state", "web-up", "up")] == 1
    assert got[("lvsocf_real_server_state", "web-down", "down")] == 1
    assert got[("lvsocf_real_server_state", "web-down", "up")] == 0
    assert got[("lvsocf_real_server_consecutive_failures", "web-down", None)] >= 1
    assert got[("lvsocf_real_server_consecutive_failures", "web-up", None)] == 0
    assert got[("lvsocf_real_server_flaps_total", "web-down", None)] >= 1
    assert 0 < got[("lvsocf_real_server_check_duration_seconds", "web-up", None)] < 0.8
    assert got[("lvsocf_engine_registrations", None, None)] == 2
    assert got[("lvsocf_engine_cycle_age_seconds", None, None)] < 30
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if "real_server" in s.labels:
                assert s.labels["service"] == "tcp:10.0.0.1:80"
                assert s.labels["real_server"] in kernel


def test_metrics_file_and_status_agree_with_the_kernel(two_up_one_down):
    rs, prom = two_up_one_down
    # the file is rewritten every second: wait for one written after both verdicts
    until(lambda: prom.exists() and
          samples(prom.read_text()).get(("lvsocf_real_server_state", "web-down", "down")) == 1
          and ("lvsocf_engine_checks_per_second", None, None) in samples(prom.read_text()),
          30, "the metrics file")
    text = prom.read_text()
    check_against_kernel(text)
    assert stat.S_IMODE(prom.stat().st_mode) == 0o644
    assert [p.name for p in prom.parent.iterdir()] == ["lvsocf.prom"]     # no temp files
    sample = os.environ.get("LVSOCF_METRICS_SAMPLE")
    if sample:
        Path(sample).write_text(text)
    print(text)

    done = subprocess.run([sys.executable, "-m", "lvsocf.cli.main", "status", "--format",
                           "prometheus"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "LVSOCF_STATE_DIR": rs.state_dir,
                               **checkout_env()})
    assert done.returncode == 0, done.stderr
    check_against_kernel(done.stdout)


def monitor(rs, name: str) -> subprocess.CompletedProcess:
    return rs("monitor", instance=name, env=RECURRING, **RS[name])


def test_a_stopped_engine_fails_monitor_and_recovery_keeps_every_weight(two_up_one_down):
    rs, _ = two_up_one_down
    table = saved()
    assert rc(monitor(rs, "web-up")) == 0 and rc(monitor(rs, "web-down")) == 190
    pid = engine_pid(rs.state_dir)
    os.kill(pid, signal.SIGSTOP)
    try:
        began = time.monotonic()
        while rc(done := monitor(rs, "web-up")) == 0:
            assert saved() == table
            assert time.monotonic() - began < 60, "monitor never saw the hung engine"
            time.sleep(2)
        assert time.monotonic() - began >= 20, "hung only after 30 s without a cycle"
        assert done.returncode == 1, done.stderr
        assert f"the check engine (pid {pid}) is hung: its cycle is" in done.stderr
        down = monitor(rs, "web-down")           # a failure, not its backend's state (190)
        assert rc(down) == 1 and "is hung" in down.stderr, down.stderr
        assert saved() == table
        # Pacemaker's recovery of each failed resource: stop, then start
        for name in RS:
            stopped = rs("stop", instance=name, **RS[name])
            assert rc(stopped) == 0, stopped.stderr
            assert saved() == table, name
            assert rc(rs("start", instance=name, **RS[name])) == 0
            assert saved() == table, name
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
    new = engine_pid(rs.state_dir)
    assert new and new != pid
    assert not Path(f"/proc/{pid}/cmdline").exists() or \
        b"lvsocf.engine" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    until(lambda: (read(rs.state_dir, "health", "web-up") or {}).get("engine_pid") == new, 30,
          "the new engine to publish")
    assert rc(monitor(rs, "web-up")) == 0
    assert rc(monitor(rs, "web-down")) == 190
    time.sleep(3)                                # the new engine checks on: nothing changes
    assert saved() == table
    log = (Path(rs.state_dir) / "engine.log").read_text()
    assert "web-up (10.0.1.1:80 of tcp 10.0.0.1:80): resumed up" in log
    # a later stop is a stop again: drained and removed
    assert rc(rs("stop", instance="web-up", **RS["web-up"])) == 0
    assert "10.0.1.1:80" not in weights()
