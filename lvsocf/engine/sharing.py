"""Shared checks: registrations that probe the same target with the same check (the same
real server in several services, keepalived #2358 and #2111) run one check between them.

The first monitor of a group leads: it runs the checks. The others follow: each result of
the leader goes through their own rise/fall state, so every entry keeps its own weight,
failure action and health record while the backend sees one check per interval. When the
leader leaves (removed, draining, reconfigured, stopped), the next member takes over.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lvsocf.checks.base import Target
    from lvsocf.engine.monitor import Monitor
    from lvsocf.records import CheckSpec

    GroupKey = tuple[Target, CheckSpec]


class CheckGroups:
    def __init__(self) -> None:
        self._groups: dict[GroupKey, list[Monitor]] = {}
        self._member_of: dict[int, GroupKey] = {}

    def join(self, m: Monitor) -> bool:
        """Add `m` to the group of its check; True when it leads (runs the checks)."""
        key = (m.reg.target, m.reg.check)
        self.leave(m)
        members = self._groups.setdefault(key, [])
        members.append(m)
        self._member_of[id(m)] = key
        return members[0] is m

    def leave(self, m: Monitor) -> Monitor | None:
        """Take `m` out of its group; the member that leads in its place, if it led."""
        key = self._member_of.pop(id(m), None)
        if key is None:
            return None
        members = self._groups[key]
        led = members[0] is m
        members.remove(m)
        if not members:
            del self._groups[key]
            return None
        return members[0] if led else None

    def leads(self, m: Monitor) -> bool:
        key = self._member_of.get(id(m))
        return key is not None and self._groups[key][0] is m

    def followers(self, m: Monitor) -> list[Monitor]:
        """The members that take `m`'s results ([] unless `m` leads a group)."""
        key = self._member_of.get(id(m))
        members = self._groups.get(key, []) if key is not None else []
        return members[1:] if members and members[0] is m else []

    def checks(self) -> int:
        """How many checks run for the members (one per group)."""
        return len(self._groups)
