"""CPU used by everything a director runs (its mount namespace: corosync, the Pacemaker
daemons, every agent run, the check engine; or keepalived), read from /proc.

A process's utime+stime plus cutime+cstime (its children that have ended): agents that ran
and ended inside the window are counted in the daemon that reaped them (pacemaker-execd).
"""
from __future__ import annotations

import os
import time
from collections.abc import Mapping

TICK = os.sysconf("SC_CLK_TCK")


def _ticks(pid: str) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    # after the command: state ppid ... utime(12) stime(13) cutime(14) cstime(15), 0-based
    return sum(int(v) for v in fields[11:15])


def namespace_ticks(mount_ns: str) -> dict[str, int]:
    """pid -> CPU ticks so far, for every process in the mount namespace `mount_ns` (as
    os.readlink("/proc/PID/ns/mnt") names it)."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{pid}/ns/mnt") == mount_ns:
                out[pid] = _ticks(pid)
        except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
            continue
    return out


class Meter:
    """CPU seconds per second of each named mount namespace between start() and stop()."""

    def __init__(self, namespaces: Mapping[str, str]) -> None:
        self.namespaces = dict(namespaces)
        self._before: dict[str, dict[str, int]] = {}
        self._t0 = 0.0

    def start(self) -> None:
        self._before = {name: namespace_ticks(ns) for name, ns in self.namespaces.items()}
        self._t0 = time.monotonic()

    def stop(self) -> dict[str, float]:
        elapsed = time.monotonic() - self._t0
        used = {}
        for name, ns in self.namespaces.items():
            after, before = namespace_ticks(ns), self._before[name]
            # processes alive at both ends: their growth; started since: all of theirs
            ticks = sum(t - before.get(pid, 0) for pid, t in after.items())
            used[name] = round(max(ticks, 0) / TICK / elapsed, 3)
        return used
