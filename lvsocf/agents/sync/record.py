"""IPVSSync's state record (kind "sync", one per node): when the backup daemon started and
whether this node was promoted, so monitor can tell a dead master (9) from an unpromoted node
(0) and the promotion score can follow the warm-up."""
from __future__ import annotations

import dataclasses
import time

from lvsocf import state
from lvsocf.agents.base import Context
from lvsocf.agents.sync.parameters import typed
from lvsocf.agents.sync.policy import score, warmup_seconds
from lvsocf.records import SyncRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lvsocf.ipvs.netlink import Ipvs


def record_name(ctx: Context) -> str:
    # One sync instance per node; anonymous clone instance numbers (sync:0) may change.
    return ctx.instance.split(":")[0]


def read_record(ctx: Context) -> SyncRecord | None:
    """This node's record; None if there is none or it is unusable (the next start,
    promote, demote or monitor writes a new one)."""
    return SyncRecord.read(record_name(ctx))


def write_record(ctx: Context, record: SyncRecord) -> None:
    record.write(record_name(ctx))


def remove_record(ctx: Context) -> None:
    state.remove(SyncRecord.KIND, record_name(ctx))


def now() -> float:
    return time.time()


def is_promoted(record: SyncRecord | None) -> bool:
    return record is not None and record.promoted


def demoted(record: SyncRecord) -> SyncRecord:
    return dataclasses.replace(record, promoted=False, promoted_since=None)


def restarted_backup(record: SyncRecord) -> SyncRecord:
    """The record once the backup daemon was started again: its warm-up begins anew."""
    return dataclasses.replace(record, backup_since=now())


def backup_record(ctx: Context, record: SyncRecord | None, restarted: bool, promoted: bool,
                  k: Ipvs) -> SyncRecord:
    """The record after the backup daemon was ensured: its start time kept unless it was
    (re)started, and the warm-up for this kernel's TCP timeout."""
    p = typed(ctx.params)
    since = now() if restarted or record is None else record.backup_since
    tcp = None if p.integer("timeout_tcp") else k.timeouts().tcp
    promoted_since = None
    if promoted:
        promoted_since = record.promoted_since if record is not None else None
        promoted_since = promoted_since or now()
    return SyncRecord(backup_since=since, promoted=promoted, warmup=warmup_seconds(p, tcp),
                      interface=p.text("interface"), syncid=p.integer("syncid"),
                      promoted_since=promoted_since)


def record_score(record: SyncRecord) -> int:
    """The promotion score the record earns now."""
    return score(record.promoted, record.backup_since, record.warmup, now())
