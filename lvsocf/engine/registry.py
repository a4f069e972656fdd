"""Registrations: the `realservers` records IPVSRealServer writes, parsed, loaded and diffed.

A registration is one real server of one service with its check. The engine keeps one per
record (named by the resource instance) and reacts to the differences between two loads:
added, removed, and changed (check settings and/or real-server settings; a changed identity
is a removal plus an addition: the old entry goes with the draining record of the stop that
Pacemaker runs before a start with new identifying parameters).
"""
from __future__ import annotations

import json
import logging
import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lvsocf import state
from lvsocf.checks import spec
from lvsocf.checks.base import Target
from lvsocf.ipvs.model import RealServer, ServiceKey
from lvsocf.records import FAILURE_ACTIONS, CheckSpec, RealServerRecord

KIND = RealServerRecord.KIND
__all__ = ["FAILURE_ACTIONS", "CheckSpec", "Registration", "digest", "parse"]
log = logging.getLogger("lvsocf.engine")


def digest(data: Mapping[str, Any]) -> str:
    """A short fingerprint of a record: the engine echoes it in the health record as its
    acknowledgement that it runs exactly this version of the registration. Not a security
    measure (records are root-only): zlib's checksums, because hashlib loads OpenSSL and
    every agent action pays for its imports."""
    raw = json.dumps(data, sort_keys=True).encode()
    return f"{zlib.crc32(raw):08x}{zlib.adler32(raw):08x}"


@dataclass(frozen=True)
class Registration:
    name: str
    key: ServiceKey
    server: RealServer                  # with the configured weight
    check: CheckSpec
    failure_action: str = "quiescent"
    initial_weight: int | None = None
    draining: float | None = None       # stop's deadline (unix time): drain, then remove
    slow_start: float = 0.0             # seconds of weight ramp after coming up (slowstart)
    digest: str = field(default="", compare=False)

    @property
    def ident(self) -> tuple[ServiceKey, tuple[str, int]]:
        return (self.key, self.server.ident)

    @property
    def target(self) -> Target:
        """What the check probes; CheckConfigError for a bad check_address/check_port."""
        return spec.target(self.check.option_map, self.server.address, self.server.port)

    def __str__(self) -> str:
        return f"{self.name} ({self.server} of {self.key})"


def from_record(name: str, record: RealServerRecord) -> Registration:
    return Registration(name, record.key, record.server, record.check, record.failure_action,
                        record.initial_weight, record.draining, record.slow_start,
                        digest(record.to_json()))


def parse(name: str, data: Any) -> Registration:
    """A Registration from a record's JSON form; RecordError (a ValueError) naming the field
    when it is malformed."""
    return from_record(name, RealServerRecord.from_json(data))


@dataclass
class Diff:
    added: list[Registration] = field(default_factory=list)
    removed: list[Registration] = field(default_factory=list)
    changed: list[tuple[Registration, Registration]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def diff(old: Mapping[str, Registration], new: Mapping[str, Registration]) -> Diff:
    out = Diff()
    for name in old.keys() - new.keys():
        out.removed.append(old[name])
    for name, reg in new.items():
        before = old.get(name)
        if before is None:
            out.added.append(reg)
        elif before.ident != reg.ident:
            out.removed.append(before)
            out.added.append(reg)
        elif before != reg:
            out.changed.append((before, reg))
    for items in (out.added, out.removed):
        items.sort(key=lambda r: r.name)
    out.changed.sort(key=lambda pair: pair[1].name)
    return out


@dataclass(frozen=True)
class Shard:
    """Worker `index` of `count` engine workers checks the registrations whose name hashes
    to it (names, not services: a director with two big services still spreads evenly)."""

    index: int
    count: int

    def owns(self, name: str) -> bool:
        return zlib.crc32(name.encode()) % self.count == self.index

    def __str__(self) -> str:
        return f"{self.index + 1}/{self.count}"

    @classmethod
    def parse(cls, text: str) -> Shard:
        """ "I/N" (1-based, as logged) -> Shard; raises ValueError."""
        index, _, count = text.partition("/")
        shard = cls(int(index) - 1, int(count))
        if not 0 <= shard.index < shard.count:
            raise ValueError(f"not a worker of N: {text!r}")
        return shard


def _dir_stamp(directory: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(directory)
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_ino)


class DirWatch:
    """Another kind of record (IPVSService's `services`): did its directory change since the
    last look? Records are written and removed by rename, so one stat tells."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._stamp = _dir_stamp(self.directory)

    @property
    def directory(self) -> Path:
        return state.state_dir() / self.kind

    def changed(self) -> bool:
        stamp = _dir_stamp(self.directory)
        changed, self._stamp = stamp != self._stamp, stamp
        return changed


class RecordDir:
    """The `realservers` directory, re-read only when it changed and only the files that did.

    Agents write records atomically (rename), so every change moves the directory's mtime:
    watching it costs one stat per poll."""

    def __init__(self, kind: str = KIND, shard: Shard | None = None) -> None:
        self.kind = kind
        self.shard = shard
        self._dir_stamp: tuple[int, int] | None = None
        self._files: dict[str, tuple[tuple[int, int, int], Registration | None]] = {}

    @property
    def directory(self) -> Path:
        return state.state_dir() / self.kind

    def changed(self) -> bool:
        return _dir_stamp(self.directory) != self._dir_stamp

    def load(self) -> dict[str, Registration]:
        try:
            st = os.stat(self.directory)
            self._dir_stamp = (st.st_mtime_ns, st.st_ino)
            names = [n for n in os.listdir(self.directory)
                     if n.endswith(".json") and not n.startswith(".")]
        except FileNotFoundError:
            self._dir_stamp = None
            names = []
        files: dict[str, tuple[tuple[int, int, int], Registration | None]] = {}
        out: dict[str, Registration] = {}
        for filename in names:
            name = filename[:-5]
            if self.shard is not None and not self.shard.owns(name):
                continue
            path = self.directory / filename
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            stamp = (st.st_mtime_ns, st.st_ino, st.st_size)
            cached = self._files.get(name)
            if cached is not None and cached[0] == stamp:
                reg = cached[1]
            else:
                reg = self._read(name, path)
            files[name] = (stamp, reg)
            if reg is not None:
                out[name] = reg
        self._files = files
        return out

    def _read(self, name: str, path: Path) -> Registration | None:
        try:
            data = json.loads(path.read_text())
            return parse(name, data)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            # Messages name fields, never option values (those may hold secrets).
            log.error("registration %s is unusable and ignored: %s: %s", name,
                      type(exc).__name__, str(exc)[:120])
            return None


def parse_or_none(name: str, data: Any) -> Registration | None:
    """parse(), or None for no record or an unusable one."""
    try:
        return None if data is None else parse(name, data)
    except ValueError:
        return None
