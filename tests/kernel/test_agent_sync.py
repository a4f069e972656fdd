"""ocf:lvsocf:IPVSSync against the real kernel, cross-checked with `ipvsadm --daemon`."""
import subprocess
import time

import pytest

from lab.netns import run
from tests.kernel.conftest import ipvsadm

AGENT = "/usr/lib/ocf/resource.d/lvsocf/IPVSSync"
IFACE = {"interface": "sync0"}
RECURRING = {"OCF_RESKEY_CRM_meta_interval": "10000"}


@pytest.fixture
def iface():
    run(["ip", "link", "add", "sync0", "type", "dummy"])
    run(["ip", "addr", "add", "192.0.2.1/24", "dev", "sync0"])
    run(["ip", "link", "set", "sync0", "up", "multicast", "on"])
    return "sync0"


@pytest.fixture
def sync(agent_factory):
    return agent_factory("IPVSSync")


@pytest.fixture
def cluster(tmp_path):
    """What Pacemaker adds for a promotable clone: promoted_max, and a crm_attribute (here a
    stand-in that logs its arguments)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "crm_attribute.log"
    tool = bindir / "crm_attribute"
    tool.write_text(f'#!/bin/sh\necho "$OCF_RESOURCE_INSTANCE $*" >> {log}\n')
    tool.chmod(0o755)
    env = {"PATH": f"{bindir}:/usr/sbin:/usr/bin:/sbin:/bin",
           "OCF_RESKEY_CRM_meta_promoted_max": "1", "OCF_RESKEY_CRM_meta_clone_max": "2"}
    return env, log


def scores(log) -> list:
    """Every promotion score set so far (None: deleted)."""
    out = []
    for line in log.read_text().splitlines() if log.exists() else ():
        words = line.split()
        assert words[0] == "rsc" and "--promotion" in words and "reboot" in words, line
        out.append(None if "--delete" in words else int(words[words.index("--update") + 1]))
    return out


def rc(done: subprocess.CompletedProcess) -> int:
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    return done.returncode


def daemons() -> str:
    return ipvsadm("-Ln", "--daemon")


def vs(name: str) -> str:
    return " ".join(run(["sysctl", "-n", f"net.ipv4.vs.{name}"]).stdout.split())


def test_roles_scores_and_settings(sync, iface, cluster):
    env, log = cluster
    p = {**IFACE, "syncid": 5, "timeout_tcp": 100, "timeout_udp": 50, "warmup": 8}
    assert rc(sync("start", env=env, **p)) == 0
    started = time.monotonic()      # the backup daemon started (and was recorded) before this
    out = daemons()
    assert "backup sync daemon (mcast=sync0, syncid=5" in out and "master" not in out
    assert [vs(n) for n in ("sync_threshold", "sync_refresh_period", "sync_retries",
                            "backup_only", "sloppy_tcp")] == ["0 0", "10", "0", "1", "0"]
    assert "Timeout (tcp tcpfin udp): 100 120 50" in ipvsadm("-Ln", "--timeout")
    assert scores(log) == [1], "a fresh backup is not warm yet"

    time.sleep(max(0.0, 8.5 - (time.monotonic() - started)))
    assert rc(sync("monitor", env={**env, **RECURRING}, **p)) == 0
    assert scores(log)[-1] == 100, "warm after the warm-up period"

    assert rc(sync("promote", env=env, **p)) == 0
    out = daemons()
    assert "master sync daemon (mcast=sync0, syncid=5" in out
    assert "backup sync daemon (mcast=sync0, syncid=5" in out, "the backup keeps running"
    assert vs("backup_only") == "0", "backup_only would stop the promoted node balancing"
    assert rc(sync("monitor", env={**env, **RECURRING}, **p)) == 8
    assert scores(log)[-2:] == [101, 101]

    ipvsadm("--stop-daemon", "master")
    done = sync("monitor", env={**env, **RECURRING}, **p)
    assert rc(done) == 9 and "master sync daemon" in done.stderr

    assert rc(sync("demote", env=env, **p)) == 0
    out = daemons()
    assert "master" not in out and "backup sync daemon" in out
    assert vs("backup_only") == "1"
    assert scores(log)[-1] == 100, "its backup ran all along: still warm"

    assert rc(sync("stop", env=env, **p)) == 0
    assert daemons() == ""
    assert scores(log)[-1] is None, "stop deletes the promotion score"
    assert rc(sync("monitor", env={**env, **RECURRING}, **p)) == 7


def test_adopts_leftovers_and_reports_outside_changes(sync, iface):
    """Start/stop twice and promote twice are ocf-tester's; here: daemons found running."""
    p = {**IFACE, "syncid": 5}
    for role in ("master", "backup"):      # leftovers with another syncid
        ipvsadm("--start-daemon", role, "--mcast-interface", "sync0", "--syncid", "9")
    assert rc(sync("start", **p)) == 0
    out = daemons()
    assert "master" not in out, "start leaves the resource unpromoted"
    assert "backup sync daemon (mcast=sync0, syncid=5" in out
    # pre-promote of another node: a stray master here is stopped
    ipvsadm("--start-daemon", "master", "--mcast-interface", "sync0", "--syncid", "5")
    notify = {"OCF_RESKEY_CRM_meta_notify_type": "pre",
              "OCF_RESKEY_CRM_meta_notify_operation": "promote",
              "OCF_RESKEY_CRM_meta_notify_promote_uname": "node2",
              "OCF_RESKEY_CRM_meta_on_node": "node1"}
    assert rc(sync("notify", env=notify, **p)) == 0
    assert "master" not in daemons() and "backup sync daemon" in daemons()
    ipvsadm("--stop-daemon", "backup")
    ipvsadm("--start-daemon", "backup", "--mcast-interface", "sync0", "--syncid", "7")
    done = sync("monitor", env=RECURRING, **p)
    assert rc(done) == 1 and "changed outside the cluster: syncid 7" in done.stderr
    ipvsadm("--stop-daemon", "backup")
    assert rc(sync("monitor", env=RECURRING, **p)) == 7
    assert rc(sync("stop", **p)) == 0                    # nothing to stop: ENOENT never fails
    assert daemons() == ""


def test_validation_on_this_host(sync, iface):
    run(["ip", "link", "add", "bare0", "type", "dummy"])
    run(["ip", "link", "set", "bare0", "up"])
    done = sync("start", interface="bare0")
    assert rc(done) == 2 and "has no IPv4 address" in done.stderr
    ipvsadm("--set", "8", "0", "0")
    done = sync("validate-all", env={"OCF_CHECK_LEVEL": "10"}, **IFACE)
    assert rc(done) == 2 and "TCP established timeout 8" in done.stderr
    assert daemons() == ""
