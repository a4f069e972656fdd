"""IPVSSync's policy, pure: the sync sysctls for a role, the warm-up period, the promotion
score it earns, and the monitor answer for the daemons that run.

Promotion scores (crm_attribute --promotion): SCORE_PROMOTED on the promoted node, SCORE_WARM
on a backup whose daemon has run for the warm-up period, SCORE_WARMING before that, so a
rebooted director does not take the role back with an empty table.
"""
from __future__ import annotations

from collections.abc import Mapping

from lvsocf.agents.base import (
    OCF_FAILED_PROMOTED,
    OCF_NOT_RUNNING,
    OCF_RUNNING_PROMOTED,
    OCF_SUCCESS,
)
from lvsocf.agents.params import Value
from lvsocf.agents.sync.parameters import sync_threshold, typed
from lvsocf.ipvs.model import SyncDaemon

SCORE_WARMING = 1
SCORE_WARM = 100
SCORE_PROMOTED = 101
WARMUP_MARGIN = 5           # s: the master flushes its send queue at most every 2 s
DEFAULT_TCP_TIMEOUT = 900   # the kernel's ESTABLISHED timeout


def sysctls(params: Mapping[str, Value], promoted: bool) -> dict[str, str | int]:
    """The net.ipv4.vs.* values for this role: backup_only is off where this node balances
    (promoted) and as configured elsewhere."""
    p = typed(params)
    threshold, period = sync_threshold(p)
    return {
        "sync_threshold": f"{threshold} {period}",
        "sync_refresh_period": p.integer("sync_refresh_period"),
        "sync_retries": p.integer("sync_retries"),
        "sloppy_tcp": int(p.flag("sloppy_tcp")),
        "backup_only": 0 if promoted else int(p.flag("backup_only")),
    }


def warmup_seconds(params: Mapping[str, Value], tcp_timeout: int | None) -> int:
    """The configured warm-up, or refresh period + established timeout + margin."""
    p = typed(params)
    warmup = p.integer("warmup")
    if warmup is not None:
        return warmup
    established = p.integer("timeout_tcp") or tcp_timeout or DEFAULT_TCP_TIMEOUT
    return p.integer("sync_refresh_period") + established + WARMUP_MARGIN


def score(promoted: bool, backup_since: float | None, warmup: float, now: float) -> int:
    if promoted:
        return SCORE_PROMOTED
    if backup_since is not None and now - backup_since >= warmup:
        return SCORE_WARM
    return SCORE_WARMING


def classify(running: Mapping[str, SyncDaemon], recorded_promoted: bool) -> int:
    """The monitor answer for the daemons that run and what the record says."""
    if "master" in running:
        return OCF_RUNNING_PROMOTED
    if recorded_promoted:
        return OCF_FAILED_PROMOTED
    return OCF_SUCCESS if "backup" in running else OCF_NOT_RUNNING
