"""IPVSRealServer on the host (no IPVS here): meta-data, validation, records, and the
monitor paths that need no kernel: not running, and an engine that cannot be restored."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from lvsocf.agents import realserver
from lvsocf.agents.metadata import render
from lvsocf.engine import files, registry

REPO = Path(__file__).resolve().parents[3]
AGENT = REPO / "agents" / "IPVSRealServer"
RNG = Path("/usr/share/pcs/data/ocf-1.1.rng")
DTD_DIR = Path("/usr/share/resource-agents")
BASE = {"vip": "10.0.0.1", "port": "80", "rip": "10.0.1.1"}


def run(action: str, state_dir: Path, instance: str = "rs", env: dict | None = None,
        **params: str) -> subprocess.CompletedProcess:
    environ = {"PATH": os.environ["PATH"], "OCF_ROOT": "/usr/lib/ocf",
               "OCF_RESOURCE_INSTANCE": instance, "LVSOCF_STATE_DIR": str(state_dir)}
    environ.update({f"OCF_RESKEY_{k}": str(v) for k, v in params.items()})
    if os.environ.get("PYTHONPATH"):        # a worktree's checkout over an editable install
        environ["PYTHONPATH"] = os.environ["PYTHONPATH"]
    environ.update(env or {})
    return subprocess.run([sys.executable, str(AGENT), action], env=environ,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def sdir(tmp_path):
    directory = tmp_path / "state"
    yield directory
    os.environ["LVSOCF_STATE_DIR"] = str(directory)
    try:
        pid = files.running_pid()
        if pid:
            os.kill(pid, signal.SIGKILL)
    finally:
        del os.environ["LVSOCF_STATE_DIR"]


@pytest.mark.skipif(shutil.which("xmllint") is None or not RNG.exists(), reason="no RNG")
def test_metadata_validates_and_groups_the_identity():
    for version, argv, cwd in (("1.1", ["--relaxng", str(RNG)], None),
                               ("1.0", ["--valid"], DTD_DIR)):
        done = subprocess.run(["xmllint", "--noout", *argv, "-"],
                              input=render(realserver.AGENT, version), cwd=cwd,
                              capture_output=True)
        assert done.returncode == 0, done.stderr.decode()
    root = etree.fromstring(render(realserver.AGENT, "1.1"))
    groups = {p.get("name"): p.get("unique-group") for p in root.iter("parameter")}
    assert {n for n, g in groups.items() if g} == {"protocol", "vip", "port", "fwmark",
                                                   "family", "rip", "rport"}
    assert set(groups.values()) - {None} == {"realserver"}
    names = {p.get("name") for p in root.iter("parameter")}
    assert {"check_type", "check_interval", "failure_action", "drain_timeout",
            "initial_weight", "external_command", "tls_verify", "udp_expect"} <= names


@pytest.mark.parametrize("params,reason", [
    ({"check_type": "http", "status_codes": "abc"}, "status_codes"),
    ({"check_type": "https", "ca_file": "/nonexistent"}, "ca_file"),
    ({"check_type": "https", "reuse_connection": "true"}, "reuse_connection"),
    ({"check_type": "http", "reuse_connection": "sometimes"}, "reuse_connection"),
    ({"check_type": "external"}, "external_command"),
    ({"check_type": "external", "external_command": "'unclosed --pw=hunter2"},
     "external_command"),
    ({"check_type": "bogus"}, "check_type"),
    ({"rport": "8080"}, "only method masq"),
    ({"rip": "2001:db8::1"}, "address family"),
    ({"rip": "nope"}, "rip"),
    ({"vip": ""}, "vip and port"),
    ({"failure_action": "explode"}, "failure_action"),
    ({"check_type": "tcp", "check_address": "not-an-ip"}, "check_address"),
])
def test_validate_all_rejects_bad_options(sdir, params, reason):
    done = run("validate-all", sdir, **{**BASE, **params})
    assert done.returncode == 6, done.stderr
    assert reason in done.stderr and "Traceback" not in done.stderr
    assert "hunter2" not in done.stderr


def test_validate_all_accepts(sdir):
    for params in ({}, {"check_type": "http", "request": "/health", "status_codes": "200,301",
                        "receive": "ok"},
                   {"rport": "8080", "method": "masq", "check_type": "udp",
                    "udp_payload": "ff", "check_port": "53"},
                   {"fwmark": "7", "vip": "", "port": "", "check_port": "443",
                    "check_type": "https", "tls_verify": "false"}):
        done = run("validate-all", sdir, **{**BASE, **params})
        assert done.returncode == 0, (params, done.stderr)


def test_record_carries_every_check_option_and_no_empty_ones():
    params = {p.name: p.default_value for p in realserver.PARAMETERS}
    params.update(vip="10.0.0.1", port=80, rip="10.0.1.2", check_type="http",
                  virtualhost="www.example.test", tls_verify=False, weight=4, check_port=8080)
    data = realserver.record_of(params).to_json()
    reg = registry.parse("x", data)
    # typed: JSON booleans and numbers, not their text
    assert data["check"]["options"] == {"http_method": "GET", "request": "/",
                                        "status_codes": "200-299",
                                        "virtualhost": "www.example.test",
                                        "tls_verify": False,
                                        "reuse_connection": False, "check_port": 8080}
    assert data["check"]["options"]["tls_verify"] is False
    assert type(data["check"]["options"]["check_port"]) is int
    assert reg.target.port == 8080
    assert reg.server.port == 80 and reg.server.method == "gate" and reg.server.weight == 4
    assert (reg.check.interval, reg.check.timeout, reg.check.rise, reg.check.fall) == \
        (5.0, 3.0, 2, 3)
    assert data["initial_weight"] is None and data["failure_action"] == "quiescent"


def test_monitor_without_a_record_is_not_running(sdir):
    assert run("monitor", sdir, **BASE).returncode == 7
    probe = run("monitor", sdir, env={"OCF_RESKEY_CRM_meta_interval": "0"}, **BASE)
    assert probe.returncode == 7
    assert run("stop", sdir, **BASE).returncode == 0


def test_monitor_fails_when_the_engine_cannot_be_restored(sdir):
    os.environ["LVSOCF_STATE_DIR"] = str(sdir)
    try:
        realserver.record_of(
            {**{p.name: p.default_value for p in realserver.PARAMETERS},
             "vip": "10.0.0.1", "port": 80, "rip": "10.0.1.1"}).write("rs")
        squatter = files.try_lock(files.LOCK)     # not an engine, but holds its lock
        assert squatter is not None
        done = run("monitor", sdir, env={"OCF_RESKEY_CRM_meta_interval": "10000"}, **BASE)
        assert done.returncode == 1, done.stderr
        assert "ocf-exit-reason:the check engine is gone and cannot be restarted" in \
            done.stderr
        files.release(squatter)
        # with the lock free, monitor brings an engine back (no IPVS here: then 7)
        done = run("monitor", sdir, env={"OCF_RESKEY_CRM_meta_interval": "10000"}, **BASE)
        assert done.returncode == 7, done.stderr
        assert files.running_pid() is not None
    finally:
        del os.environ["LVSOCF_STATE_DIR"]


def test_start_on_a_kernel_without_ipvs_is_not_installed(sdir):
    done = run("start", sdir, **BASE)
    assert done.returncode == 5
    assert "ocf-exit-reason:IPVS is not available in this kernel" in done.stderr
