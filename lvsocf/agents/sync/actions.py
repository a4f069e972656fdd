"""IPVSSync's action handlers, one per OCF action.

start runs the backup daemon (unpromoted), promote adds the master daemon, demote stops the
master, stop stops both. The backup daemon keeps running on the promoted node, so a director
that is demoted (or fails back) still holds what the new master sends. Every action but stop
ends by setting this node's promotion score (best effort).
"""
from __future__ import annotations

import os

from lvsocf.agents import kernel
from lvsocf.agents.base import (
    OCF_ERR_GENERIC,
    OCF_FAILED_PROMOTED,
    OCF_NOT_RUNNING,
    OCF_RUNNING_PROMOTED,
    OCF_SUCCESS,
    Context,
    OcfError,
)
from lvsocf.agents.sync.daemons import (
    apply_settings,
    daemon_config,
    ensure_backup,
    ensure_daemon,
    heal_settings,
    mismatches,
    running_daemons,
    stop_daemon,
)
from lvsocf.agents.sync.policy import SCORE_PROMOTED, classify
from lvsocf.agents.sync.record import (
    backup_record,
    demoted,
    is_promoted,
    read_record,
    record_score,
    remove_record,
    restarted_backup,
    write_record,
)
from lvsocf.agents.sync.validation import warnings


def set_score(ctx: Context, value: int | None) -> None:
    """Best effort: outside a cluster (or not promotable) nothing to set, never a failure."""
    if not ctx.promotable:
        return
    if not ctx.promotion_score(value):
        ctx.logger.warning("could not set the promotion score to %s", value)


def start(ctx: Context) -> int:
    record = read_record(ctx)
    with kernel.ipvs() as k:
        if stop_daemon(ctx, k, "master"):
            ctx.logger.warning("a master sync daemon was running at start: stopped it "
                               "(start leaves the resource unpromoted)")
        apply_settings(ctx, k, promoted=False)
        restarted = ensure_backup(ctx, k)
        record = backup_record(ctx, record, restarted or record is None, False, k)
    write_record(ctx, record)
    for message in warnings(ctx.params):
        ctx.logger.warning("%s", message)
    set_score(ctx, record_score(record))
    return OCF_SUCCESS


def promote(ctx: Context) -> int:
    record = read_record(ctx)
    with kernel.ipvs() as k:
        apply_settings(ctx, k, promoted=True)
        try:
            restarted = ensure_backup(ctx, k)
        except OcfError as err:     # an old kernel may refuse both daemons at once
            ctx.logger.warning("no backup daemon next to the master: %s", err)
            restarted = False
        ensure_daemon(ctx, k, daemon_config(ctx.params, "master"))
        record = backup_record(ctx, record, restarted or record is None, True, k)
    write_record(ctx, record)
    set_score(ctx, SCORE_PROMOTED)
    return OCF_SUCCESS


def demote(ctx: Context) -> int:
    record = read_record(ctx)
    if ctx.config_error is not None:
        # Unusable parameters: stop the master, nothing else can be set up.
        if kernel.loaded():
            with kernel.ipvs() as k:
                stop_daemon(ctx, k, "master")
        if record is not None:
            write_record(ctx, demoted(record))
        return OCF_SUCCESS
    with kernel.ipvs() as k:
        stop_daemon(ctx, k, "master")
        restarted = ensure_backup(ctx, k)
        apply_settings(ctx, k, promoted=False)
        record = backup_record(ctx, record, restarted or record is None, False, k)
    write_record(ctx, record)
    set_score(ctx, record_score(record))
    return OCF_SUCCESS


def stop(ctx: Context) -> int:
    if kernel.loaded():
        with kernel.ipvs() as k:
            for role in ("master", "backup"):
                stop_daemon(ctx, k, role)
    remove_record(ctx)
    set_score(ctx, None)
    return OCF_SUCCESS


def monitor(ctx: Context) -> int:
    if not kernel.loaded():
        return OCF_NOT_RUNNING
    record = read_record(ctx)
    with kernel.ipvs() as k:
        running = running_daemons(k)
        rc = classify(running, is_promoted(record))
        if rc == OCF_NOT_RUNNING or ctx.config_error is not None:
            return rc
        if rc == OCF_FAILED_PROMOTED:
            ctx.exit_reason("the master sync daemon of the promoted node is gone")
            return rc
        promoted = rc == OCF_RUNNING_PROMOTED
        for have in running.values():
            if diff := mismatches(daemon_config(ctx.params, have.state), have):
                ctx.exit_reason(f"the {have.state} sync daemon was changed outside the "
                                f"cluster: {', '.join(diff)}")
                return OCF_ERR_GENERIC
        restarted = False
        if promoted and "backup" not in running:
            ctx.logger.warning("the backup sync daemon next to the master is gone: restarting")
            try:
                restarted = ensure_backup(ctx, k)
            except OcfError as err:
                ctx.logger.warning("%s", err)
        heal_settings(ctx, k, promoted)
        if restarted or record is None or record.promoted != promoted:
            record = backup_record(ctx, record, restarted or record is None, promoted, k)
            write_record(ctx, record)
    set_score(ctx, record_score(record))
    return rc


def reload_agent(ctx: Context) -> int:
    record = read_record(ctx)
    with kernel.ipvs() as k:
        running = running_daemons(k)
        if not running:
            return OCF_NOT_RUNNING
        promoted = "master" in running or is_promoted(record)
        apply_settings(ctx, k, promoted)
        if record is not None:
            record = backup_record(ctx, record, False, promoted, k)
    if record is not None:
        write_record(ctx, record)
        set_score(ctx, record_score(record))
    return OCF_SUCCESS


def node_name(ctx: Context) -> str:
    return ctx.meta("on_node") or os.uname().nodename


def notify(ctx: Context) -> int:
    kind = f"{ctx.meta('notify_type', '')}-{ctx.meta('notify_operation', '')}"
    me = node_name(ctx)
    if kind == "pre-promote":
        targets = (ctx.meta("notify_promote_uname") or "").split()
        record = read_record(ctx)
        if me in targets or record is None or record.promoted or ctx.config_error:
            return OCF_SUCCESS
        # Another node is about to send: no stray master here, and our backup listening.
        with kernel.ipvs() as k:
            if stop_daemon(ctx, k, "master"):
                ctx.logger.warning("stopped a stray master sync daemon before %s is promoted",
                                   " ".join(targets))
            if ensure_backup(ctx, k):
                write_record(ctx, restarted_backup(record))
    elif kind == "post-start":
        peers = [n for n in (ctx.meta("notify_start_uname") or "").split() if n != me]
        if peers:
            ctx.logger.info("sync backup started on %s: it holds only what is synced from "
                            "now on and warms up before it may take the promoted role",
                            " ".join(peers))
    return OCF_SUCCESS


HANDLERS = {"start": start, "stop": stop, "monitor": monitor, "promote": promote,
            "demote": demote, "notify": notify, "reload-agent": reload_agent}
