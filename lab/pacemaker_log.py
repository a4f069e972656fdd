"""What a director's pacemaker.log says: the agent actions it ran, and the milestones of a
takeover (membership loss, DC election, each action started and finished) with their times.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

from lab.cluster import Node

RESULT = re.compile(r"Result of (\w+) operation for (\S+) on (\S+):")


def _log(node: Node) -> Path:
    return node.root / "log-pacemaker" / "pacemaker.log"


def _log_size(node: Node) -> int:
    try:
        return _log(node).stat().st_size
    except FileNotFoundError:
        return 0


def actions_since(node: Node, offset: int) -> list[str]:
    """The agent actions (not monitors) pacemaker ran on `node` since byte `offset` of its
    log, as "action resource"."""
    with _log(node).open("rb") as fh:
        fh.seek(offset)
        text = fh.read().decode(errors="replace")
    return [f"{m[1]} {m[2]}" for m in RESULT.finditer(text)
            if m[1] != "monitor" and m[3] == node.name]


# What the survivor's pacemaker.log says between the crash and the VIP: where the takeover
# spends its time (membership, DC election, scheduler, each agent action).
STEPS = (
    ("membership", re.compile(r"Node (\S+) state is now lost|peer on the DC .* is dead")),
    ("election", re.compile(r"State transition \S+ -> S_ELECTION")),
    ("DC", re.compile(r"State transition S_ELECTION -> S_INTEGRATION|"
                      r"State transition \S+ -> S_POLICY_ENGINE")),
    ("transition", re.compile(r"Initiating (\w+) operation (\S+)")),
    ("result", re.compile(r"Result of (\w+) operation for (\S+) on")),
)
STAMP = re.compile(r"^(\w{3} \d{1,2} \d\d:\d\d:\d\d(?:\.\d+)?) ")


def _log_time(line: str, year: int) -> float | None:
    """The epoch time of a pacemaker.log line (its stamp has no year)."""
    found = STAMP.match(line)
    if not found:
        return None
    whole, _, fraction = found[1].partition(".")
    at = time.mktime(time.strptime(f"{year} {whole}", "%Y %b %d %H:%M:%S"))
    return at + (float(f"0.{fraction}") if fraction else 0.0)


def takeover_steps(node: Node, offset: int, since: float, until: float,
                   last: str) -> list[tuple[float, str]]:
    """(seconds after `since`, what) for the takeover milestones in `node`'s pacemaker.log
    from byte `offset` up to the result of resource `last`'s start, or `until` (monitors left
    out). The VIP's address shows before its agent returns, so its result is read from the
    log rather than cut off at the moment the address appeared."""
    with _log(node).open("rb") as fh:
        fh.seek(offset)
        lines = fh.read().decode(errors="replace").splitlines()
    year = time.localtime(since).tm_year
    steps: list[tuple[float, str]] = []
    for line in lines:
        at = _log_time(line, year)
        if at is None or at > until:
            continue
        for name, pattern in STEPS:
            found = pattern.search(line)
            if found and "monitor" not in found[0]:
                steps.append((round(at - since, 2), f"{name}: {found[0]}"))
                if name == "result" and found[1] == "start" and found[2] == last:
                    return steps
                break
    return steps

