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


def _read(pid: str) -> tuple[str, int]:
    """(command name, CPU ticks) of a process."""
    with open(f"/proc/{pid}/stat") as fh:
        head, tail = fh.read().rsplit(")", 1)
    fields = tail.split()
    # after the command: state ppid ... utime(12) stime(13) cutime(14) cstime(15), 0-based
    return head.split("(", 1)[1], sum(int(v) for v in fields[11:15])


def namespace_processes(mount_ns: str) -> dict[str, tuple[str, int]]:
    """pid -> (command name, CPU ticks so far), for every process in the mount namespace
    `mount_ns` (as os.readlink("/proc/PID/ns/mnt") names it)."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{pid}/ns/mnt") == mount_ns:
                out[pid] = _read(pid)
        except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
            continue
    return out


class Meter:
    """CPU seconds per second of each named mount namespace between start() and stop()."""

    def __init__(self, namespaces: Mapping[str, str]) -> None:
        self.namespaces = dict(namespaces)
        self._before: dict[str, dict[str, tuple[str, int]]] = {}
        self._t0 = 0.0

    def start(self) -> None:
        self._before = {name: namespace_processes(ns) for name, ns in self.namespaces.items()}
        self._t0 = time.monotonic()

    def stop(self) -> dict[str, float]:
        elapsed, ticks = self._ticks()
        return {name: round(max(sum(by_command.values()), 0) / TICK / elapsed, 3)
                for name, by_command in ticks.items()}

    def stop_by_command(self) -> dict[str, dict[str, float]]:
        """namespace -> command name -> CPU seconds per second. An agent that ran and ended
        inside the window counts under the daemon that reaped it (pacemaker-execd)."""
        elapsed, ticks = self._ticks()
        return {name: {command: round(max(t, 0) / TICK / elapsed, 3)
                       for command, t in sorted(by_command.items(), key=lambda kv: -kv[1])}
                for name, by_command in ticks.items()}

    def _ticks(self) -> tuple[float, dict[str, dict[str, int]]]:
        """Seconds since start() and, per namespace and command, the ticks used since."""
        elapsed = time.monotonic() - self._t0
        used: dict[str, dict[str, int]] = {}
        for name, ns in self.namespaces.items():
            before = self._before[name]
            ticks = used[name] = {}
            for pid, (command, now) in namespace_processes(ns).items():
                # processes alive at both ends: their growth; started since: all of theirs
                ticks[command] = ticks.get(command, 0) + now - before.get(pid, ("", 0))[1]
        return elapsed, used
