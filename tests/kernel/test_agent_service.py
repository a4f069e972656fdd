"""ocf:lvsocf:IPVSService against the real kernel, cross-checked with `ipvsadm -Sn`."""
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.kernel.conftest import (
    LongLivedClient,
    bash_only,
    ipvsadm,
    saved,
    start_echo_server,
)
from tests.kernel.test_agent_realserver import engine_pid

TCP = {"vip": "10.0.0.1", "port": 80}


@pytest.fixture
def svc(agent_factory):
    return agent_factory("IPVSService")


def rc(done: subprocess.CompletedProcess) -> int:
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    return done.returncode


@pytest.mark.parametrize("params,rule", [
    (TCP, "-A -t 10.0.0.1:80 -s wlc"),
    ({**TCP, "scheduler": "mh", "sched_flags": "mh-fallback,mh-port"},
     "-A -t 10.0.0.1:80 -s mh -b mh-fallback,mh-port"),
    ({**TCP, "persistent": 600, "netmask": "255.255.0.0"},
     "-A -t 10.0.0.1:80 -s wlc -p 600 -M 255.255.0.0"),
    ({**TCP, "persistent": 600, "netmask": "24"},
     "-A -t 10.0.0.1:80 -s wlc -p 600 -M 255.255.255.0"),
    ({"fwmark": 9, "family": "inet6", "scheduler": "rr"}, "-A -f 9 -6 -s rr"),
    ({"vip": "2001:db8::5", "port": 80, "persistent": 10, "netmask": 48},
     "-A -t [2001:db8::5]:80 -s wlc -p 10 -M 48"),
    ({"vip": "10.0.0.1", "port": 53, "protocol": "udp", "ops": "yes"},
     "-A -u 10.0.0.1:53 -s wlc -o"),
    ({"vip": "10.0.0.2", "port": 5060, "protocol": "udp", "persistent": 30, "pe": "sip"},
     "-A -u 10.0.0.2:5060 -s wlc -p 30 --pe sip"),
    ({"vip": "10.0.0.2", "port": 5060, "protocol": "sctp", "persistent": 30},
     "-A --sctp-service 10.0.0.2:5060 -s wlc -p 30"),
])
def test_every_parameter(svc, params, rule):
    assert rc(svc("start", **params)) == 0
    assert rule in saved()
    assert rc(svc("monitor", **params)) == 0
    assert rc(svc("monitor", env={"OCF_CHECK_LEVEL": "10"}, **params)) == 0
    assert rc(svc("stop", **params)) == 0
    assert saved() == set()
    assert rc(svc("monitor", **params)) == 7


def test_adopts_and_edits_in_place_and_stop_is_scoped(svc):
    ipvsadm("-A", "-t", "10.0.0.1:80", "-s", "rr")
    ipvsadm("-a", "-t", "10.0.0.1:80", "-r", "10.0.1.1:80", "-m")
    ipvsadm("-A", "-t", "10.0.0.1:81", "-s", "rr")
    assert rc(svc("start", scheduler="sh", **TCP)) == 0
    assert saved() == {"-A -t 10.0.0.1:80 -s sh", "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 1",
                       "-A -t 10.0.0.1:81 -s rr"}
    assert rc(svc("stop", scheduler="sh", **TCP)) == 0
    assert saved() == {"-A -t 10.0.0.1:81 -s rr"}


def test_monitor_reports_outside_changes(svc):
    assert rc(svc("start", persistent=60, **TCP)) == 0
    ipvsadm("-E", "-t", "10.0.0.1:80", "-s", "rr", "-p", "60")
    recurring = {"OCF_RESKEY_CRM_meta_interval": "10000"}
    done = svc("monitor", env=recurring, persistent=60, **TCP)
    assert rc(done) == 1 and "changed outside the cluster" in done.stderr
    assert "ocf-exit-reason:" in done.stderr
    ipvsadm("-E", "-t", "10.0.0.1:80", "-s", "wlc", "-p", "60", "-M", "255.255.0.0")
    assert rc(svc("monitor", env=recurring, persistent=60, **TCP)) == 0    # cheap /proc check
    deep = svc("monitor", env={"OCF_CHECK_LEVEL": "10", **recurring}, persistent=60, **TCP)
    assert rc(deep) == 1 and "netmask 255.255.0.0" in deep.stderr
    probe = svc("monitor", env={"OCF_RESKEY_CRM_meta_interval": "0"}, **{**TCP, "port": 99})
    assert rc(probe) == 7


@pytest.mark.parametrize("params", [TCP, {**TCP, "persistent": 60},
                                    {"fwmark": 9, "family": "inet6", "scheduler": "rr"},
                                    {"vip": "2001:db8::5", "port": 80, "persistent": 10}])
def test_monitor_fast_path_reads_the_table_afresh(svc, params, tmp_path):
    """A recurring monitor answers in bash (no Python: the bash-only copy's Python is
    /bin/false) after a full one succeeded, and hands over to Python when the service's
    line in /proc/net/ip_vs or a parameter differs."""
    fast = bash_only(svc, tmp_path)
    recurring = {"OCF_RESKEY_CRM_meta_interval": "10000"}
    assert rc(svc("start", **params)) == 0
    assert rc(fast("monitor", env=recurring, **params)) == 1
    assert rc(svc("monitor", env=recurring, **params)) == 0
    assert rc(fast("monitor", env=recurring, **params)) == 0
    assert rc(fast("monitor", env=recurring, **{**params, "scheduler": "sh"})) == 1
    rule = next(r for r in saved() if r.startswith("-A ")).split()[1:]
    at = rule.index("-s")
    ipvsadm("-E", *rule[:at], "-s", "sh", *rule[at + 2:])   # outside the cluster
    assert rc(fast("monitor", env=recurring, **params)) == 1
    assert rc(svc("monitor", env=recurring, **params)) == 1  # Python: changed outside
    ipvsadm("-E", *rule)
    assert rc(svc("monitor", env=recurring, **params)) == 0
    assert rc(fast("monitor", env=recurring, **params)) == 0
    assert rc(svc("stop", **params)) == 0
    assert rc(fast("monitor", env=recurring, **params)) == 1


def test_stop_after_parameter_change_removes_what_start_made(svc):
    """Pacemaker runs stop with the new parameters when a change forces a restart."""
    assert rc(svc("start", **TCP)) == 0
    assert rc(svc("stop", vip="10.0.0.1", port=8080)) == 0
    assert saved() == set()


def test_fallback_server(svc):
    """The check engine, not the agent, puts the fallback in and takes it out (the engine is
    the only writer of real-server entries): start starts it and waits for it."""
    params = {**TCP, "fallback": "10.0.9.9:8080", "fallback_method": "masq"}
    try:
        assert rc(svc("start", **params)) == 0
        assert "-a -t 10.0.0.1:80 -r 10.0.9.9:8080 -m -w 1" in saved()
        log = Path(svc.state_dir, "engine.log")
        assert "fallback in: " in log.read_text()
        ipvsadm("-a", "-t", "10.0.0.1:80", "-r", "10.0.1.1:80", "-g", "-w", "1")
        assert rc(svc("reload-agent", **params)) == 0
        assert saved() == {"-A -t 10.0.0.1:80 -s wlc",
                           "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1"}
        assert "fallback out: " in log.read_text()
    finally:
        pid = engine_pid(svc.state_dir)
        if pid:
            os.kill(pid, signal.SIGKILL)


def test_reload_that_changes_the_fallback_takes_the_old_one_out(svc):
    """A reload may name another fallback or none: the old entry leaves the kernel, nothing
    else of the service is touched."""
    first = {**TCP, "fallback": "10.0.9.9:8080", "fallback_method": "masq"}
    try:
        assert rc(svc("start", **first)) == 0
        assert "-a -t 10.0.0.1:80 -r 10.0.9.9:8080 -m -w 1" in saved()
        ipvsadm("-a", "-t", "10.0.0.1:80", "-r", "10.0.1.1:80", "-g", "-w", "0")
        second = {**first, "fallback": "10.0.9.8:8080"}
        assert rc(svc("reload-agent", **second)) == 0
        assert _eventually(lambda: saved() == {
            "-A -t 10.0.0.1:80 -s wlc", "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 0",
            "-a -t 10.0.0.1:80 -r 10.0.9.8:8080 -m -w 1"}), saved()
        assert rc(svc("reload-agent", **TCP)) == 0
        assert _eventually(lambda: saved() == {
            "-A -t 10.0.0.1:80 -s wlc", "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 0"}), saved()
    finally:
        pid = engine_pid(svc.state_dir)
        if pid:
            os.kill(pid, signal.SIGKILL)


def _eventually(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_reload_agent_is_live_for_a_connection(svc, nat_topology):
    topo, cl, rs = nat_topology
    start_echo_server(topo, rs, "10.0.1.1", 80)
    assert rc(svc("start", scheduler="rr", **TCP)) == 0
    ipvsadm("-a", "-t", "10.0.0.1:80", "-r", "10.0.1.1:80", "-m")
    client = LongLivedClient(topo, cl, "10.0.0.1", 80)
    assert client.talk("before") == "before"
    for params in ({"scheduler": "wlc"}, {"scheduler": "sh", "sched_flags": "sh-port"},
                   {"scheduler": "sh", "persistent": 300, "netmask": "255.255.255.0"}):
        assert rc(svc("reload-agent", **TCP, **params)) == 0
        assert client.talk(f"after {params}") == f"after {params}"
    assert "-A -t 10.0.0.1:80 -s sh -p 300 -M 255.255.255.0" in saved()
    assert "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 1" in saved()
    conns = ipvsadm("-Lnc")
    assert f"10.0.0.2:{client.local_port}" in conns and "ESTABLISHED" in conns
