"""The installed agents on the real IPVS kernel, from the .deb and from the .rpm's files:
ocf-tester for all three; an IPVSRealServer's whole life against a real backend, its weight
read back with ipvsadm; the engine killed and brought back by monitor; `lvsocf status`; and
the guard that no process of the product loads code from outside the installed folders."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lab.netns import Topology
from tests.installed.conftest import (
    AGENT_DIR,
    CLEAN_PATH,
    REPO,
    installed_command,
    sync_interface,
)
from tests.installed.loads import Traced, distribution_path
from tests.kernel.conftest import ipvsadm, saved
from tests.kernel.test_engine import serve, stop, until, weights

VIP, RIP = "10.0.0.1", "10.0.1.1"
SERVICE = f"{VIP}:80"
RS_PARAMS = {"vip": VIP, "port": 80, "rip": RIP, "method": "masq", "weight": 3,
             "check_type": "tcp", "check_interval": 1, "check_timeout": 0.8, "rise": 2,
             "fall": 2, "drain_timeout": 0}
RECURRING = {"OCF_RESKEY_CRM_meta_interval": "10000"}


def ocf_tester(agent: str, state_dir: Path, **params) -> subprocess.CompletedProcess[str]:
    options = [a for k, v in params.items() for a in ("-o", f"{k}={v}")]
    env = {"PATH": CLEAN_PATH, "LVSOCF_STATE_DIR": str(state_dir)}
    return subprocess.run(["ocf-tester", "-n", f"t-{agent}", *options, str(AGENT_DIR / agent)],
                          env=env, capture_output=True, text=True, timeout=900, cwd="/")


# ocf-tester walks every action (start/stop twice, probes, promote/demote): run it on the
# .deb; the .rpm's files are the same and get the lifecycle test below.
ON_DEB = pytest.mark.parametrize("installed", ["deb"], indirect=True)


@ON_DEB
@pytest.mark.parametrize("params", [
    {"vip": VIP, "port": 80},
    {"vip": VIP, "port": 5060, "protocol": "udp", "ops": "true", "scheduler": "rr",
     "persistent": 30, "pe": "sip"},
    {"fwmark": 7, "scheduler": "sh", "sched_flags": "sh-port", "persistent": 60,
     "netmask": "255.255.255.0"},
    {"vip": "2001:db8::1", "port": 443, "persistent": 300, "netmask": 64},
    {"vip": "10.0.0.2", "port": 5060, "protocol": "sctp", "persistent": 30},
], ids=["tcp", "udp-ops-sip", "fwmark", "ipv6", "sctp"])
def test_ocf_tester_service(installed, tmp_path, params):
    done = ocf_tester("IPVSService", tmp_path, **params)
    assert done.returncode == 0 and "passed all tests" in done.stdout, done.stdout + done.stderr
    assert saved() == set(), "the final stop leaves nothing behind"


@ON_DEB
def test_ocf_tester_sync(installed, tmp_path):
    """ocf-tester sets no promoted_max: promote/demote run all the same, and setting a
    promotion score is skipped (it would fail outside a cluster)."""
    sync_interface()
    done = ocf_tester("IPVSSync", tmp_path, interface="sync0", syncid=9)
    assert done.returncode == 0 and "passed all tests" in done.stdout, done.stdout + done.stderr
    assert ipvsadm("-Ln", "--daemon") == ""


@ON_DEB
def test_ocf_tester_realserver(installed, tmp_path):
    ipvsadm("-A", "-t", SERVICE, "-s", "wlc")
    done = ocf_tester("IPVSRealServer", tmp_path, vip=VIP, port=80, rip=RIP,
                      check_type="none", weight=5, drain_timeout=0)
    assert done.returncode == 0 and "passed all tests" in done.stdout, done.stdout + done.stderr
    assert saved() == {f"-A -t {SERVICE} -s wlc"}, "the final stop leaves the service alone"


@pytest.fixture
def backend():
    """A real server namespace behind this (director) namespace, and the service."""
    with Topology("in") as topo:
        rs = topo.host("rs")
        topo.link(rs, "eth0", None, "drs")
        topo.address(None, "drs", "10.0.1.254/24")
        topo.address(rs, "eth0", f"{RIP}/24")
        ipvsadm("-A", "-t", SERVICE, "-s", "rr")
        yield topo, rs


def health(state_dir: Path, instance: str) -> dict:
    try:
        return json.loads((state_dir / "health" / f"{instance}.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}


def status_of(state_dir: Path) -> dict:
    doc = json.loads(installed_command("status", "--json", state_dir=state_dir).stdout)
    return next(r for svc in doc["services"] for r in svc["real_servers"]
                if r["address"] == RIP)


def test_realserver_lifecycle_from_installed_files(agents, backend, tmp_path):
    topo, rsns = backend
    rs = agents("IPVSRealServer")
    server = serve(topo, rsns, RIP)
    # start under strace, with two check workers: agent, engine and workers all traced
    traced = Traced([rs.path, "start"], tmp_path / "strace.log", cwd="/",
                    env=rs.env("web-rs1", RS_PARAMS, {"LVSOCF_ENGINE_WORKERS": "2"}),
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    traced.wait_top(300)
    until(lambda: weights().get(f"{RIP}:80") == 3, 60, "the configured weight after rise")
    loads = traced.detach()
    assert f"-a -t {SERVICE} -r {RIP}:80 -m -w 3" in saved()

    assert loads.foreign(distribution_path()) == [], "code from outside the installed product"
    pythons = loads.pythons()
    assert len(pythons) >= 4, f"agent, engine and 2 workers ran Python: {loads.execs}"
    # lvsocf.ipvs speaks netlink itself: no pyroute2 is shipped, and none is imported
    assert not loads.loaded("pyroute2"), "pyroute2 was imported"
    assert loads.loaded("/usr/lib/lvsocf/lvsocf/agents/")

    assert rs("monitor", "web-rs1", RECURRING, **RS_PARAMS).returncode == 0
    row = status_of(rs.state_dir)
    assert row["weight"] == 3 and row["health"]["state"] == "up" and row["health"]["healthy"]
    # the next recurring monitors are answered in bash (lvsocf/agents/fastpath.bash): they
    # answer 0 with Python unable to start (PYTHONHOME points nowhere); a changed parameter
    # goes to Python (which cannot start here: not 0)
    no_python = {**RECURRING, "PYTHONHOME": "/nonexistent"}
    assert rs("monitor", "web-rs1", no_python, **RS_PARAMS).returncode == 0
    assert rs("monitor", "web-rs1", no_python, **{**RS_PARAMS, "weight": 4}).returncode != 0

    stop(server)                                   # check fails: quiescent, weight 0
    until(lambda: health(rs.state_dir, "web-rs1").get("state") == "down", 60, "down")
    assert weights() == {f"{RIP}:80": 0}
    done = rs("monitor", "web-rs1", RECURRING, **RS_PARAMS)
    assert done.returncode == 190 and f"{RIP}:80 is down" in done.stderr, done.stderr

    pid = health(rs.state_dir, "web-rs1")["engine_pid"]
    os.kill(pid, signal.SIGKILL)                   # the engine dies: no weight changes
    until(lambda: not Path(f"/proc/{pid}").exists()
          or "zombie" in Path(f"/proc/{pid}/status").read_text().lower(), 30, "engine gone")
    assert weights() == {f"{RIP}:80": 0}
    assert rs("monitor", "web-rs1", RECURRING, **RS_PARAMS).returncode == 190
    until(lambda: health(rs.state_dir, "web-rs1").get("engine_pid") not in (None, pid), 60,
          "a new engine, started by monitor")
    assert weights() == {f"{RIP}:80": 0}

    serve(topo, rsns, RIP)                         # check passes again
    until(lambda: weights().get(f"{RIP}:80") == 3, 60, "weight back after rise")
    assert rs("monitor", "web-rs1", RECURRING, **RS_PARAMS).returncode == 0
    row = status_of(rs.state_dir)
    assert row["health"]["state"] == "up" and row["health"]["engine_running"]

    assert rs("stop", "web-rs1", **RS_PARAMS).returncode == 0
    assert saved() == {f"-A -t {SERVICE} -s rr"}
    assert rs("monitor", "web-rs1", RECURRING, **RS_PARAMS).returncode == 7


def test_command_loads_only_installed_code(installed, tmp_path):
    traced = Traced(["/usr/bin/lvsocf", "status"], tmp_path / "strace.log", cwd="/",
                    env={"PATH": CLEAN_PATH, "LVSOCF_STATE_DIR": str(tmp_path / "s")},
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    traced.wait_top(120)
    loads = traced.detach()
    assert loads.foreign(distribution_path()) == []
    assert loads.loaded("/usr/lib/lvsocf/lvsocf/cli/")


def test_the_guard_sees_a_checkout(installed, tmp_path):
    """The guard can fail: the checkout's agent run by this venv's Python is caught."""
    traced = Traced([sys.executable, str(REPO / "agents" / "IPVSService"), "meta-data"],
                    tmp_path / "strace.log", cwd="/", env={"PATH": CLEAN_PATH},
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    traced.wait_top(120)
    foreign = traced.detach().foreign(distribution_path())
    assert any(f"{REPO}/lvsocf/" in line for line in foreign), foreign
    assert any(" ran " in line for line in foreign), foreign
