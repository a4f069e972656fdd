"""Node-local state records (JSON) under a root-only directory, written atomically.

Agents record what they started (so stop can undo it even when Pacemaker runs stop with
changed parameters) and what the check engine needs to know; the engine records what it
observed. Default directory /run/lvsocf (per boot, like HA_RSCTMP); LVSOCF_STATE_DIR moves it.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

_SAFE = re.compile(r"[^A-Za-z0-9_.:@-]")


def state_dir() -> Path:
    return Path(os.environ.get("LVSOCF_STATE_DIR", "/run/lvsocf"))


def path_of(kind: str, name: str) -> Path:
    """The file of record `name` of `kind`."""
    return state_dir() / kind / (_SAFE.sub("_", name)[:200] + ".json")



_ensured: set[Path] = set()    # directories this process made root-only already


def _ensure_dir(path: Path) -> None:
    for directory in (path.parent.parent, path.parent):
        directory.mkdir(mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)
    _ensured.add(path.parent)


def write(kind: str, name: str, data: dict[str, Any]) -> None:
    # dumps, not dump: json.dump always takes the pure-Python encoder
    _write(path_of(kind, name), json.dumps(data, sort_keys=True).encode())


def write_text(kind: str, name: str, text: str) -> None:
    """A text file `name` (used as it is: the caller vouches for it) of `kind`, written
    like a record."""
    _write(state_dir() / kind / name, text.encode())


def _write(path: Path, text: bytes) -> None:
    if path.parent not in _ensured:
        _ensure_dir(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    try:
        fd = os.open(tmp, flags, 0o600)
    except FileNotFoundError:       # someone removed the directory since
        _ensure_dir(path)
        fd = os.open(tmp, flags, 0o600)
    try:
        view = memoryview(text)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    os.replace(tmp, path)


def read(kind: str, name: str) -> dict[str, Any] | None:
    try:
        with open(path_of(kind, name)) as fh:
            data = json.load(fh)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def remove(kind: str, name: str) -> None:
    try:
        path_of(kind, name).unlink()
    except FileNotFoundError:
        pass


def all_of(kind: str) -> dict[str, dict[str, Any]]:
    """Every readable record of a kind, by file stem; unreadable ones are skipped."""
    folder = state_dir() / kind
    out = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            out[path.stem] = data
    return out
