"""The engine as a process on the host (no IPVS here: kernel writes fail and are reported):
one engine per state dir however many agents start it at once, detached and locked, SIGHUP,
SIGKILL, idle exit; and node attributes through attrd_updater."""
from __future__ import annotations

import asyncio
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from engine_harness import alive, record, register, wait

from lvsocf.engine import attrd, client, files, registry


@pytest.fixture
def engine_dir(state_dir):
    yield state_dir
    pid = files.read_pid()
    if pid and alive(pid):
        os.kill(pid, signal.SIGKILL)


SPAWN = textwrap.dedent("""
    import sys
    from lvsocf.engine import client
    print(client.ensure_running(60))
""")


def test_concurrent_starts_make_one_detached_engine(engine_dir):
    procs = [subprocess.Popen([sys.executable, "-c", SPAWN], stdout=subprocess.PIPE,
                              text=True, env=dict(os.environ)) for _ in range(8)]
    pids = {int(p.communicate(timeout=120)[0].strip()) for p in procs}
    assert len(pids) == 1
    pid = pids.pop()
    assert client.running_pid() == pid and alive(pid)
    status = Path(f"/proc/{pid}/status").read_text()
    ppid = int(next(line.split()[1] for line in status.splitlines()
                    if line.startswith("PPid:")))
    assert ppid not in [p.pid for p in procs] and ppid != os.getpid()
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    names = {e.split(b"=", 1)[0] for e in environ if e}
    assert names <= {b"PATH", b"LANG", b"LVSOCF_STATE_DIR", b"PYTHONPATH", b"HA_LOGFILE",
                     b"HA_LOGFACILITY", b"HA_debug", b"TZ"}
    fds = os.listdir(f"/proc/{pid}/fd")
    assert os.readlink(f"/proc/{pid}/fd/0") == "/dev/null" and len(fds) < 20
    soft = int(next(line.split()[3] for line in Path(f"/proc/{pid}/limits").read_text()
                    .splitlines() if line.startswith("Max open files")))
    assert soft >= 4096
    assert os.getsid(pid) != os.getsid(0)
    assert stat.S_IMODE(os.stat(engine_dir).st_mode) == 0o700
    wait(lambda: "ready" in (engine_dir / files.LOG).read_text(), what="engine ready")
    # a second engine started by hand sees the lock and leaves
    done = subprocess.run([sys.executable, "-m", "lvsocf.engine", "--state-dir",
                           str(engine_dir)], capture_output=True, timeout=60)
    assert done.returncode == 0 and client.running_pid() == pid


def test_sighup_registers_at_once_and_errors_are_published(engine_dir):
    pid = client.ensure_running(60)
    data = record(port=1, kind="none")
    register("rs1", data)
    assert client.notify()
    h = client.wait_for(lambda h: h is not None and bool(h.error), "rs1", 20)
    # no IPVS on this host: the kernel write fails and says so, the engine keeps running
    assert h.engine_pid == pid and alive(pid)
    assert h.registration == registry.digest(data) and h.weight is None


def test_sigkill_then_wait_for_restarts_it(engine_dir):
    pid = client.ensure_running(60)
    register("rs1", record(port=1, kind="none"))
    client.notify()
    client.wait_for(lambda h: h is not None, "rs1", 20)
    os.kill(pid, signal.SIGKILL)
    wait(lambda: client.running_pid() is None, what="lock released by the dead engine")
    # the health record survives; waiting on it brings an engine back
    h = client.wait_for(lambda h: h is not None and h.engine_pid != pid, "rs1", 60)
    assert client.running_pid() == h.engine_pid


def test_idle_engine_exits_and_cleans_its_pid_file(engine_dir):
    env = {**os.environ, "PYTHONPATH": str(Path(client.__file__).parents[2])}
    proc = subprocess.Popen([sys.executable, "-m", "lvsocf.engine", "--state-dir",
                             str(engine_dir), "--idle-exit", "0.3"], env=env)
    assert proc.wait(timeout=60) == 0
    assert not (engine_dir / files.PID).exists() and client.running_pid() is None
    assert "no registrations" in (engine_dir / files.LOG).read_text()


def test_sigterm_exits_cleanly(engine_dir):
    pid = client.ensure_running(60)
    wait(lambda: "ready" in (engine_dir / files.LOG).read_text(), what="engine ready")
    os.kill(pid, signal.SIGTERM)
    wait(lambda: not alive(pid), what="engine exit")
    assert "SIGTERM" in (engine_dir / files.LOG).read_text()


def test_an_engine_of_other_code_is_replaced_and_resumes(engine_dir):
    """After a package upgrade the old engine still runs; the next start replaces it."""
    pid = client.ensure_running(60)
    assert files.read_stamp() == files.code_stamp()
    register("rs1", record(port=1, kind="none"))
    client.notify()
    client.wait_for(lambda h: h is not None, "rs1", 20)
    assert client.ensure_running(60) == pid                 # same code: kept
    pid_file = engine_dir / files.PID
    pid_file.write_text(f"{pid}\n0.0.1:1:1\n")             # what an older engine wrote
    new = client.ensure_running(60)
    assert new != pid and not alive(pid) and files.read_stamp() == files.code_stamp()
    log = (engine_dir / files.LOG).read_text()
    assert "SIGTERM" in log
    h = client.wait_for(lambda h: h is not None and h.engine_pid == new, "rs1", 30)
    assert h.registration == registry.digest(record(port=1, kind="none"))
    pid_file.write_text(f"{new}\n")                       # an engine from before stamps
    assert client.ensure_running(60) not in (pid, new)


# ---- node attributes ------------------------------------------------------------------------

FAKE_TOOL = """#!/bin/sh
echo "$0 $*" >> {log}
exit {rc}
"""


def fake_tools(tmp_path: Path, crm_node_rc: int) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    for name, rc in (("crm_node", crm_node_rc), ("attrd_updater", 0)):
        tool = bin_dir / name
        tool.write_text(FAKE_TOOL.format(log=log, rc=rc))
        tool.chmod(0o755)
    return log


def test_attrd_publishes_latest_values_when_pacemaker_answers(tmp_path, monkeypatch):
    log = fake_tools(tmp_path, 0)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")

    async def main():
        a = attrd.Attrd()
        task = asyncio.create_task(a.run())
        a.set("web-rs1", "soft_down")
        a.set("web-rs1", "down")          # coalesced: only the latest is sent
        a.set("web/rs2", "up")
        a.delete("web-rs3")
        for _ in range(200):
            if a.sent == 3:
                break
            await asyncio.sleep(0.02)
        task.cancel()
        return a.sent
    assert asyncio.run(main()) == 3
    calls = log.read_text().splitlines()
    assert calls[0].endswith("crm_node -n")
    assert [c.split(" ", 1)[1] for c in calls[1:]] == [
        "-p -n lvsocf-web-rs1 -U down", "-p -n lvsocf-web_rs2 -U up", "-p -n lvsocf-web-rs3 -D"]


def test_attrd_stays_quiet_without_pacemaker(tmp_path, monkeypatch):
    log = fake_tools(tmp_path, 102)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")

    async def main():
        a = attrd.Attrd()
        task = asyncio.create_task(a.run())
        a.set("rs", "up")
        await asyncio.sleep(0.3)
        task.cancel()
        return a
    a = asyncio.run(main())
    assert not a.available and a.sent == 0
    assert [c.split("/")[-1] for c in log.read_text().splitlines()] == ["crm_node -n"]
