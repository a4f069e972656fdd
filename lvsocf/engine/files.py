"""The engine's process files in the state directory, and the lock that keeps it unique.

One engine per state directory (per node, or per network namespace in tests): it holds an
exclusive flock on engine.lock for its whole life, so "is an engine running" is a lock probe,
immune to stale pid files and pid reuse. Cheap to import (agents' monitor uses it).
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

from lvsocf import state

LOCK = "engine.lock"        # held (LOCK_EX) by the running engine
SPAWN_LOCK = "engine.spawn"  # held by an agent while it checks for and starts an engine
PID = "engine.pid"
LOG = "engine.log"


def path(name: str) -> Path:
    return state.state_dir() / name


def ensure_dir() -> Path:
    directory = state.state_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    return directory


def try_lock(name: str, shared: bool = False) -> int | None:
    """An open fd holding the flock on `name`, or None when someone else holds it."""
    ensure_dir()
    fd = os.open(path(name), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def release(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def engine_locked() -> bool:
    """True while an engine holds its lock (probed with a shared lock, released at once)."""
    if not path(LOCK).exists():
        return False
    fd = try_lock(LOCK, shared=True)
    if fd is None:
        return True
    release(fd)
    return False


def code_stamp() -> str:
    """What tells this lvsocf's code from another's: its version and the records module's
    file (an upgrade replaces it). The engine writes it to its pid file; an agent that finds
    an engine of other code (still running after a package upgrade) replaces it."""
    from lvsocf import __version__, records
    st = os.stat(records.__file__)
    return f"{__version__}:{st.st_size}:{st.st_mtime_ns}"


def _pid_file() -> list[str]:
    try:
        return path(PID).read_text().split()
    except OSError:
        return []


def read_pid() -> int | None:
    words = _pid_file()
    return int(words[0]) if words and words[0].isdigit() else None


def read_stamp() -> str | None:
    """The code stamp of the engine that wrote the pid file (None: an older engine)."""
    words = _pid_file()
    return words[1] if len(words) > 1 else None


def running_pid() -> int | None:
    """The running engine's pid, or None when no engine holds the lock."""
    return read_pid() if engine_locked() else None
