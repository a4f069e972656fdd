"""IPVSSync's state record (kind "sync", one per node): when the backup daemon started and
whether this node was promoted, so monitor can tell a dead master (9) from an unpromoted node
(0) and the promotion score can follow the warm-up."""
from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from lvsocf import state
from lvsocf.agents.base import Context
from lvsocf.agents.sync.parameters import typed
from lvsocf.agents.sync.policy import score, warmup_seconds

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lvsocf.ipvs.netlink import Ipvs

RECORD = "sync"


def record_name(ctx: Context) -> str:
    # One sync instance per node; anonymous clone instance numbers (sync:0) may change.
    return ctx.instance.split(":")[0]


def read_record(ctx: Context) -> dict[str, Any]:
    return state.read(RECORD, record_name(ctx)) or {}


def write_record(ctx: Context, record: dict[str, Any]) -> None:
    state.write(RECORD, record_name(ctx), record)


def remove_record(ctx: Context) -> None:
    state.remove(RECORD, record_name(ctx))


def now() -> float:
    return time.time()


def backup_record(ctx: Context, record: dict[str, Any], restarted: bool, promoted: bool,
                  k: Ipvs) -> dict[str, Any]:
    """The record after the backup daemon was ensured: its start time kept unless it was
    (re)started, and the warm-up for this kernel's TCP timeout."""
    p = typed(ctx.params)
    since = record.get("backup_since")
    if restarted or not isinstance(since, int | float):
        since = now()
    tcp = None if p.integer("timeout_tcp") else k.timeouts().tcp
    out = {"backup_since": since, "promoted": promoted,
           "warmup": warmup_seconds(p, tcp),
           "interface": p.text("interface"), "syncid": p.integer("syncid")}
    if promoted:
        out["promoted_since"] = record.get("promoted_since") or now()
    return out


def record_score(record: Mapping[str, Any]) -> int:
    """The promotion score the record earns now."""
    since = record.get("backup_since")
    return score(bool(record.get("promoted")), since if isinstance(since, int | float) else None,
                 float(record.get("warmup") or 0), now())
