"""The tickets of the monitor fast path (lvsocf/agents/fastpath.bash, the other half).

A full monitor that succeeded writes what it saw as a ticket: the resource's parameters as
the environment gave them, the service's line of /proc/net/ip_vs (and, for a real server, its
entry's address under that line, its registration digest and the engine's files). A
recurring monitor that finds all of it unchanged answers "running" in bash without starting
Python; anything else runs the full monitor. Every other action drops the ticket first, so a
ticket never outlives what it describes: start, stop and reload-agent change the resource.

A ticket is a root-only text file, one `KIND VALUE` per line, in STATE_DIR/monitor/INSTANCE.
None is written when a value would not survive a line (a newline in a parameter) or the
instance name is not one bash can find (Pacemaker's ids always are).
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from lvsocf import state

KIND = "monitor"
MAGIC = "lvsocf-monitor-ticket 1"
_INSTANCE = re.compile(r"[A-Za-z0-9_:@-][A-Za-z0-9_.:@-]{0,199}")


def path(instance: str) -> Path | None:
    """Where the ticket of `instance` lives; None for a name the bash half cannot use."""
    if _INSTANCE.fullmatch(instance) is None:
        return None
    return state.state_dir() / KIND / instance


def drop(instance: str) -> None:
    where = path(instance)
    try:
        if where is not None:
            where.unlink(missing_ok=True)
    except OSError:     # no state directory of ours to drop it from: nothing to drop
        pass


def write(instance: str, parameters: Iterable[str], seen: dict[str, str]) -> bool:
    """Write the ticket: every declared parameter as the environment has it (set or unset)
    and `seen` (header, entry, proc, ...). False, with any old ticket dropped, when one
    cannot be written faithfully."""
    lines = [MAGIC]
    for name in parameters:
        value = os.environ.get(f"OCF_RESKEY_{name}")
        lines.append(f"unset {name} " if value is None else f"set {name} {value}")
    lines += [f"{kind} {value}" for kind, value in seen.items()]
    lines.append("end")
    where = path(instance)
    if where is None or any(c in line for line in lines for c in "\n\r\0"):
        drop(instance)
        return False
    try:
        state.write_text(KIND, instance, "\n".join(lines) + "\n")
    except (OSError, UnicodeError):     # a parameter that is no text: no ticket
        drop(instance)
        return False
    return True
