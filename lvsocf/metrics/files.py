"""The engine's .prom file for node_exporter's textfile collector: its settings and an atomic
write (a temporary file in the same directory, then rename; the collector reads only names
ending in .prom, so it never sees a half-written file).

Settings (the engine's environment, which Pacemaker's environment file such as
/etc/default/pacemaker or /etc/sysconfig/pacemaker passes on to it, or engine options):
  LVSOCF_ENGINE_METRICS_FILE      the .prom file to write; unset or empty: no file (default)
                                  e.g. /var/lib/prometheus/node-exporter/lvsocf.prom
  LVSOCF_ENGINE_METRICS_INTERVAL  seconds between writes (default 15, at least 1)
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

FILE_ENV = "LVSOCF_ENGINE_METRICS_FILE"
INTERVAL_ENV = "LVSOCF_ENGINE_METRICS_INTERVAL"
DEFAULT_INTERVAL = 15.0
MIN_INTERVAL = 1.0
MODE = 0o644        # no secrets in it: no check option becomes a label


@dataclass(frozen=True)
class Settings:
    path: Path
    interval: float = DEFAULT_INTERVAL


def settings(path: str | None, interval: str | float | None) -> Settings | None:
    """The metrics settings, None when no file is configured; ValueError when malformed."""
    if not path:
        return None
    if not os.path.isabs(path) or not path.endswith(".prom"):
        raise ValueError(f"metrics file: expected an absolute path ending in .prom, got "
                         f"{path[:80]!r}")
    seconds = DEFAULT_INTERVAL if interval in (None, "") else float(interval)
    if not seconds >= MIN_INTERVAL:
        raise ValueError(f"metrics interval: expected at least {MIN_INTERVAL:g} s, got "
                         f"{interval!r}")
    return Settings(Path(path), seconds)


def write(settings: Settings, text: str) -> None:
    """Write the metrics file; a failure is logged (the checks go on), never raised."""
    try:
        write_atomic(settings.path, text)
    except OSError as exc:
        logging.getLogger("lvsocf.engine").error("cannot write the metrics file %s: %s",
                                                 settings.path, exc)


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` at once (mode 0644). Raises OSError."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, MODE)         # whatever the umask (the engine runs with 077)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
