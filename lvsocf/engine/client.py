"""The agents' side of the engine: is it running, start it, poke it, wait for it.

Cheap to import (no asyncio, no netlink): IPVSRealServer's monitor uses it.

Agents talk to the engine only through files in the state directory: they write or remove
their `realservers` record and send SIGHUP (the engine also polls the directory); the engine
answers with the `health` record, whose `registration` field echoes the digest of the record
it runs, and by removing a draining record once its entry is gone. Starting is serialized by
a spawn lock, so 50 agents starting at once start one engine.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from lvsocf import importpath, state
from lvsocf.engine import files
from lvsocf.records import HealthRecord

log = logging.getLogger("lvsocf.engine.client")

SPAWN_TIMEOUT = 60.0
# Pacemaker's environment (e.g. /etc/default/pacemaker) reaches the engine only through these:
# its logging, LVSOCF_ENGINE_WORKERS (checks shared by that many processes, or "auto") and
# the Prometheus metrics file settings (lvsocf.metrics.files).
CLEAN_ENV = ("HA_LOGFILE", "HA_LOGFACILITY", "HA_debug", "TZ", "LVSOCF_ENGINE_WORKERS",
             "LVSOCF_ENGINE_METRICS_FILE", "LVSOCF_ENGINE_METRICS_INTERVAL")


class EngineError(Exception):
    """The engine cannot be started or does not answer; str() is an exit reason."""


def running_pid() -> int | None:
    return files.running_pid()


def is_engine(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"lvsocf.engine" in cmdline


def notify() -> bool:
    """SIGHUP the running engine (re-read registrations now); False when none runs."""
    pid = running_pid()
    if pid is None or not is_engine(pid):
        return False
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        return False
    return True


def engine_env() -> dict[str, str]:
    """An `env -i`-like environment: PATH, locale, where the state and the code are, and
    Pacemaker's logging settings."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
           "LVSOCF_STATE_DIR": str(state.state_dir()),
           # run exactly the lvsocf this agent runs
           "PYTHONPATH": importpath.child_pythonpath()}
    env.update({k: os.environ[k] for k in CLEAN_ENV if k in os.environ})
    return env


def _spawn(timeout: float) -> int:
    import subprocess

    read_fd, write_fd = os.pipe()
    argv = [sys.executable, "-m", "lvsocf.engine", "--daemonize",
            "--state-dir", str(state.state_dir()), "--ready-fd", str(write_fd)]
    try:
        proc = subprocess.Popen(argv, env=engine_env(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                pass_fds=(write_fd,), start_new_session=True, cwd="/")
    except OSError as exc:
        os.close(read_fd)
        raise EngineError(f"cannot start the check engine: {exc}") from None
    finally:
        os.close(write_fd)
    try:
        answer = _read_line(read_fd, timeout)
    finally:
        os.close(read_fd)
        try:
            proc.wait(timeout=5)    # the first child exits at once (double fork)
        except subprocess.TimeoutExpired:
            pass
    word, _, rest = answer.partition(" ")
    pid = int(rest) if rest.strip().isdigit() else 0
    if word in ("started", "ready") and pid:
        return pid
    if word == "busy":
        if pid and running_pid() == pid:
            return pid
        raise EngineError(f"{files.path(files.LOCK)} is held by a process that is not a "
                          "running check engine")
    if word == "error":
        raise EngineError(f"the check engine failed to start: {rest}")
    raise EngineError(f"the check engine did not start within {timeout:g}s "
                      f"(see {files.path(files.LOG)})")


def _read_line(fd: int, timeout: float) -> str:
    import select

    data = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        chunk = os.read(fd, 256)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").strip()


def ensure_running(timeout: float = SPAWN_TIMEOUT) -> int:
    """The engine's pid, starting it when none runs, or replacing one that runs other code
    (a package upgrade). Raises EngineError."""
    pid = running_pid()
    if pid is not None and files.read_stamp() == files.code_stamp():
        return pid
    deadline = time.monotonic() + timeout
    while True:
        fd = files.try_lock(files.SPAWN_LOCK)
        if fd is not None:
            break
        if time.monotonic() > deadline:
            raise EngineError(f"timed out after {timeout:g}s waiting for another agent "
                              "starting the check engine")
        time.sleep(0.1)
    try:
        pid = running_pid()
        if pid is not None and files.read_stamp() != files.code_stamp():
            _retire(pid, deadline)
            pid = None
        if pid is not None:
            return pid
        return _spawn(max(1.0, deadline - time.monotonic()))
    finally:
        files.release(fd)


def _retire(pid: int, deadline: float) -> None:
    """Stop an engine that runs other code than ours (it still runs what was installed before
    an upgrade, and may not read what we write). SIGTERM: it changes no weight on its way
    out; the engine started next resumes every registration as it was."""
    log.warning("the check engine (pid %d) runs other code than this agent (%s, its own: %s):"
                " replacing it", pid, files.code_stamp(), files.read_stamp() or "older")
    if not stop_engine(pid, signal.SIGTERM, deadline - time.monotonic()):
        raise EngineError(f"the check engine (pid {pid}) runs other code than this agent "
                          "and did not stop on SIGTERM")


def stop_engine(pid: int, signum: int, timeout: float) -> bool:
    """Send `signum` to the engine `pid` (not to a process that took its pid) and wait until
    no engine holds the lock; False when one still does after `timeout` seconds."""
    if is_engine(pid):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while running_pid() is not None:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def wait_for(predicate: Callable[[HealthRecord | None], bool], instance: str,
             timeout: float, restart: bool = True) -> HealthRecord | None:
    """Poll the health record of `instance` until predicate(record) holds; restart the engine
    if it dies meanwhile (restart=True). Returns the record; raises EngineError on timeout."""
    found: list[HealthRecord | None] = [None]

    def done() -> bool:
        found[0] = HealthRecord.read(instance)
        return predicate(found[0])
    wait_until(done, timeout, restart)
    return found[0]


def wait_until(done: Callable[[], bool], timeout: float, restart: bool = True) -> None:
    """Poll until done() holds (it reads what the engine writes: health records, or the
    record it removes after a drain); restart the engine if it dies meanwhile (restart=True).
    Raises EngineError on timeout."""
    # Many agents may wait at once (Pacemaker starts real servers in parallel): poll gently,
    # so their waiting leaves the CPU to the engine they wait for.
    deadline = time.monotonic() + timeout
    delay, next_liveness = 0.05, time.monotonic() + 2.0
    while True:
        if done():
            return
        now = time.monotonic()
        if now > deadline:
            raise EngineError(f"the check engine did not answer within {timeout:g}s "
                              f"(see {files.path(files.LOG)})")
        if restart and now >= next_liveness:
            next_liveness = now + 2.0
            if running_pid() is None:
                ensure_running(max(1.0, deadline - now))
                notify()
        time.sleep(min(delay, max(0.0, deadline - now)))
        delay = min(delay * 1.5, 1.0)
