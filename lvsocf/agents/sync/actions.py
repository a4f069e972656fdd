"""ocf:lvsocf:IPVSSync — the kernel's IPVS connection-sync daemons as a promotable clone.

start runs the backup daemon (unpromoted), promote adds the master daemon, demote stops the
master, stop stops both. The backup daemon keeps running on the promoted node, so a director
that is demoted (or fails back) still holds what the new master sends. Daemons are read and
changed through netlink (IPVS_CMD_GET_DAEMON/NEW_DAEMON/DEL_DAEMON), never through `ps`, and
every start/stop is keyed on what GET_DAEMON reports (EEXIST/ENOENT never fail an action).

The sync sysctls are set so that idle long-lived connections stay on the backup
(sync_threshold "0 0" + sync_refresh_period: every packet that arrives at least
sync_refresh_period seconds after the last sync of its connection resends it).
backup_only is off where this node balances (promoted) and as configured elsewhere.

Promotion scores (crm_attribute --promotion, best effort): SCORE_PROMOTED on the promoted
node, SCORE_WARM on a backup whose daemon has run for the warm-up period, SCORE_WARMING
before that, so a rebooted director does not take the role back with an empty table.
A state record (kind "sync") remembers when the backup daemon started and whether this node
was promoted, so monitor can tell a dead master (9) from an unpromoted node (0).
"""
from __future__ import annotations

import errno
import fcntl
import ipaddress
import os
import socket
import struct
import time
from collections.abc import Mapping
from typing import Any

from lvsocf import state
from lvsocf.agents import kernel
from lvsocf.agents.base import (
    OCF_ERR_GENERIC,
    OCF_FAILED_PROMOTED,
    OCF_NOT_RUNNING,
    OCF_RUNNING_PROMOTED,
    OCF_SUCCESS,
    Action,
    Agent,
    ArgsError,
    ConfigError,
    Context,
    InstalledError,
    OcfError,
    Param,
    run,
)
from lvsocf.agents.params import Value
from lvsocf.ipvs.model import SyncDaemon

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lvsocf.ipvs.netlink import Ipvs

RECORD = "sync"
SCORE_WARMING = 1
SCORE_WARM = 100
SCORE_PROMOTED = 101
WARMUP_MARGIN = 5           # s: the master flushes its send queue at most every 2 s
DEFAULT_TCP_TIMEOUT = 900   # the kernel's ESTABLISHED timeout
MAX_TIMEOUT = 2147483       # s: what fits the kernel's jiffies arithmetic

PARAMETERS = (
    Param("interface", "Sync interface", """
          The interface the sync daemons send and receive multicast on (ipvsadm
          --mcast-interface). It needs an IPv4 address (for an IPv4 group) and should be a
          dedicated link or VLAN between the directors.""", required=True),
    Param("syncid", "Sync ID", """
          Sync ID (0-255) stamped on every sync message; a backup ignores messages with another
          ID, except that a backup with ID 0 accepts all. Give every LVS cluster on a shared
          segment its own ID.""", type="integer", default=0, min=0, max=255),
    Param("mcast_group", "Multicast group", """
          IPv4 or IPv6 multicast group for sync messages. Empty: the kernel's 224.0.0.81.""",
          default=""),
    Param("mcast_port", "Multicast UDP port", "Empty: the kernel's 8848.",
          type="integer", min=1, max=65535),
    Param("mcast_ttl", "Multicast TTL", "Empty: the kernel's 1 (the local segment only).",
          type="integer", min=1, max=255),
    Param("maxlen", "Maximum sync message length", """
          Largest sync message payload in bytes (ipvsadm --sync-maxlen). Empty: derived from
          the interface MTU by the kernel.""", type="integer", min=1, max=65507),
    Param("sync_threshold", "net.ipv4.vs.sync_threshold", """
          "THRESHOLD PERIOD": sync a connection when its inbound packet count modulo PERIOD
          equals THRESHOLD. The default "0 0" leaves syncing to sync_refresh_period, which is
          what keeps idle long-lived connections (keepalives only) alive on the backup; the
          kernel's "3 50" resends such a connection so rarely that its backup copy expires.""",
          default="0 0", reloadable=True),
    Param("sync_refresh_period", "net.ipv4.vs.sync_refresh_period (seconds)", """
          Resend a connection on its first packet at least this many seconds after its last
          sync (the kernel uses at most half the connection's timeout). Must be shorter than
          the TCP established timeout. 0 = the kernel's packet-count mode only.""",
          type="integer", default=10, min=0, max=MAX_TIMEOUT, reloadable=True),
    Param("sync_retries", "net.ipv4.vs.sync_retries", """
          Extra resends (0-3) of a connection within one refresh period, each at least
          1/8 of the period apart, for lossy sync links.""",
          type="integer", default=0, min=0, max=3, reloadable=True),
    Param("backup_only", "net.ipv4.vs.backup_only on unpromoted nodes", """
          While the backup daemon runs, do not act as a director (packets go to the local
          stack). This stops forwarding loops when directors are also DR/TUN real servers.
          Applied on unpromoted nodes only: the promoted node always gets 0, or it would
          not balance at all.""", type="boolean", default=True, reloadable=True),
    Param("sloppy_tcp", "net.ipv4.vs.sloppy_tcp", """
          Let IPVS create connections from any TCP packet, not only SYN: a connection that
          is missing after failover is scheduled again instead of being reset by the local
          stack. Only safe when every real server could take it (e.g. sh/mh scheduling).""",
          type="boolean", default=False, reloadable=True),
    Param("timeout_tcp", "IPVS TCP established timeout (seconds)", """
          ipvsadm --set tcp. Empty: leave the kernel's value (900).""",
          type="integer", min=1, max=MAX_TIMEOUT, reloadable=True),
    Param("timeout_tcpfin", "IPVS TCP FIN_WAIT timeout (seconds)", """
          ipvsadm --set tcpfin. Empty: leave the kernel's value (120).""",
          type="integer", min=1, max=MAX_TIMEOUT, reloadable=True),
    Param("timeout_udp", "IPVS UDP timeout (seconds)", """
          ipvsadm --set udp. Empty: leave the kernel's value (300).""",
          type="integer", min=1, max=MAX_TIMEOUT, reloadable=True),
    Param("warmup", "Warm-up period (seconds)", """
          How long the backup daemon must have run before this node gets the full promotion
          score. Empty: sync_refresh_period + the TCP established timeout + 5 s, the time
          after which every connection still alive on the master has been resent (a live
          connection sends at least one packet per established timeout). Until then a
          returning director scores lower and does not take the promoted role back.""",
          type="integer", min=0, max=MAX_TIMEOUT, reloadable=True),
)

ACTIONS = (
    Action("start", 30), Action("stop", 30),
    Action("promote", 30), Action("demote", 30), Action("notify", 30),
    Action("monitor", 30, interval=10, role="Promoted"),
    Action("monitor", 30, interval=11, role="Unpromoted"),
    Action("reload-agent", 30),
    Action("meta-data", 5),
    Action("validate-all", 20, depth=0), Action("validate-all", 20, depth=10),
)


# ---- configuration (pure) ----------------------------------------------------------------

def parse_threshold(raw: str) -> tuple[int, int]:
    """'3 50' -> (3, 50), with the kernel's rule: threshold < period unless period is 0."""
    words = str(raw).split()
    if len(words) != 2 or not all(w.isascii() and w.isdigit() and len(w) < 10 for w in words):
        raise ConfigError(f"sync_threshold {str(raw)[:30]!r} is not two numbers "
                          "\"THRESHOLD PERIOD\" (e.g. \"0 0\" or \"3 50\")")
    threshold, period = int(words[0]), int(words[1])
    if period and threshold >= period:
        raise ConfigError(f"sync_threshold {threshold} {period}: the threshold must be below "
                          "the period (or the period 0)")
    return threshold, period


def daemon_config(params: Mapping[str, Value], role: str) -> SyncDaemon:
    group = str(params.get("mcast_group") or "").strip()
    return SyncDaemon(role, str(params.get("interface") or ""), int(params.get("syncid") or 0),
                      maxlen=int(params.get("maxlen") or 0), mcast_group=group or None,
                      mcast_port=int(params.get("mcast_port") or 0),
                      mcast_ttl=int(params.get("mcast_ttl") or 0))


def sysctls(params: Mapping[str, Value], promoted: bool) -> dict[str, str | int]:
    """The net.ipv4.vs.* values for this role."""
    threshold, period = parse_threshold(str(params.get("sync_threshold") or "0 0"))
    return {
        "sync_threshold": f"{threshold} {period}",
        "sync_refresh_period": int(params.get("sync_refresh_period") or 0),
        "sync_retries": int(params.get("sync_retries") or 0),
        "sloppy_tcp": int(bool(params.get("sloppy_tcp"))),
        "backup_only": 0 if promoted else int(bool(params.get("backup_only"))),
    }


def warmup_seconds(params: Mapping[str, Value], tcp_timeout: int | None) -> int:
    """The configured warm-up, or refresh period + established timeout + margin."""
    if params.get("warmup") is not None:
        return int(params["warmup"])
    established = int(params.get("timeout_tcp") or tcp_timeout or DEFAULT_TCP_TIMEOUT)
    return int(params.get("sync_refresh_period") or 0) + established + WARMUP_MARGIN


def score(promoted: bool, backup_since: float | None, warmup: float, now: float) -> int:
    if promoted:
        return SCORE_PROMOTED
    if backup_since is not None and now - backup_since >= warmup:
        return SCORE_WARM
    return SCORE_WARMING


def mismatches(want: SyncDaemon, have: SyncDaemon) -> list[str]:
    """How a running daemon differs from the configured one (unset options not compared;
    maxlen neither: the kernel adjusts it to the MTU)."""
    out = []
    if have.interface != want.interface:
        out.append(f"interface {have.interface} instead of {want.interface}")
    if have.syncid != want.syncid:
        out.append(f"syncid {have.syncid} instead of {want.syncid}")
    if want.mcast_group and have.mcast_group and \
            ipaddress.ip_address(have.mcast_group) != ipaddress.ip_address(want.mcast_group):
        out.append(f"group {have.mcast_group} instead of {want.mcast_group}")
    if want.mcast_port and have.mcast_port != want.mcast_port:
        out.append(f"port {have.mcast_port} instead of {want.mcast_port}")
    if want.mcast_ttl and have.mcast_ttl != want.mcast_ttl:
        out.append(f"ttl {have.mcast_ttl} instead of {want.mcast_ttl}")
    return out


def classify(running: Mapping[str, SyncDaemon], recorded_promoted: bool) -> int:
    """The monitor answer for the daemons that run and what the record says."""
    if "master" in running:
        return OCF_RUNNING_PROMOTED
    if recorded_promoted:
        return OCF_FAILED_PROMOTED
    return OCF_SUCCESS if "backup" in running else OCF_NOT_RUNNING


def warnings(params: Mapping[str, Value]) -> list[str]:
    """Combinations that work but do not keep idle long-lived connections on the backup."""
    out = []
    threshold, period = parse_threshold(str(params.get("sync_threshold") or "0 0"))
    refresh = int(params.get("sync_refresh_period") or 0)
    if refresh and period:
        out.append(f"sync_threshold {threshold} {period} with sync_refresh_period {refresh}: "
                   "a connection is resent only when both agree, so idle long-lived "
                   "connections expire on the backup; use sync_threshold \"0 0\"")
    if not refresh:
        out.append("sync_refresh_period 0: connections are synced by packet count only; "
                   "idle long-lived connections expire on the backup")
    return out


def check_config(params: Mapping[str, Value]) -> None:
    """Depth-0 validation: what cannot work on any host (ConfigError, exit 6)."""
    if not str(params.get("interface") or "").strip():
        raise ConfigError("interface is required: the sync link the daemons use")
    threshold, period = parse_threshold(str(params.get("sync_threshold") or "0 0"))
    refresh = int(params.get("sync_refresh_period") or 0)
    if not refresh and not period and not threshold:
        raise ConfigError("sync_threshold \"0 0\" with sync_refresh_period 0 never syncs an "
                          "established connection: set sync_refresh_period (e.g. 10)")
    timeout_tcp = params.get("timeout_tcp")
    if refresh and timeout_tcp and refresh >= int(timeout_tcp):
        raise ConfigError(f"sync_refresh_period {refresh} s is not shorter than timeout_tcp "
                          f"{timeout_tcp} s: backup copies would expire between refreshes")
    group = str(params.get("mcast_group") or "").strip()
    if group:
        try:
            address = ipaddress.ip_address(group)
        except ValueError:
            raise ConfigError(f"mcast_group {group[:40]!r} is not an IP address") from None
        if not address.is_multicast:
            raise ConfigError(f"mcast_group {group} is not a multicast address "
                              "(224.0.0.0/4 or ff00::/8)")
    clone_node_max = os.environ.get("OCF_RESKEY_CRM_meta_clone_node_max", "1")
    if clone_node_max.isdigit() and int(clone_node_max) > 1:
        raise ConfigError("clone-node-max must be 1: a node has one master and one backup "
                          "sync daemon")


# ---- the host (depth 10) -----------------------------------------------------------------

SIOCGIFADDR = 0x8915


def interface_exists(interface: str) -> bool:
    """In this network namespace (/sys/class/net shows the namespace sysfs was mounted in)."""
    try:
        socket.if_nametoindex(interface)
    except (OSError, ValueError):
        return False
    return True


def ipv4_address(interface: str) -> str | None:
    """The interface's primary IPv4 address (None if it has none); OSError if no interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            raw = fcntl.ioctl(sock.fileno(), SIOCGIFADDR,
                              struct.pack("256s", interface.encode()[:15]))
        except OSError as err:
            if err.errno == errno.EADDRNOTAVAIL:
                return None
            raise
    return socket.inet_ntoa(raw[20:24])


def check_host(params: Mapping[str, Value], kernel_tcp_timeout: int | None) -> None:
    """Depth-10 validation: the interface and the kernel of this host."""
    interface = str(params["interface"])
    if not interface_exists(interface):
        raise ArgsError(f"interface {interface[:40]!r} does not exist on this host")
    group = str(params.get("mcast_group") or "").strip()
    if not group or ipaddress.ip_address(group).version == 4:
        try:
            address = ipv4_address(interface)
        except OSError as err:
            raise ArgsError(f"interface {interface}: {err.strerror}") from None
        if address is None:
            raise ArgsError(f"interface {interface} has no IPv4 address: the sync daemons "
                            "need one to send and receive IPv4 multicast")
    refresh = int(params.get("sync_refresh_period") or 0)
    if not params.get("timeout_tcp") and kernel_tcp_timeout and refresh >= kernel_tcp_timeout:
        raise ArgsError(f"sync_refresh_period {refresh} s is not shorter than this kernel's "
                        f"TCP established timeout {kernel_tcp_timeout} s (set timeout_tcp)")


def validate(params: Mapping[str, Value], depth: int) -> None:
    check_config(params)
    if depth < 10:
        return
    if not kernel.loaded() and not kernel.module_available("ip_vs"):
        raise InstalledError("IPVS is not available in this kernel (module ip_vs missing)")
    tcp_timeout = None
    if not params.get("timeout_tcp") and int(params.get("sync_refresh_period") or 0):
        with kernel.ipvs() as k:
            tcp_timeout = k.timeouts().tcp
    check_host(params, tcp_timeout)


# ---- state record ------------------------------------------------------------------------

def record_name(ctx: Context) -> str:
    # One sync instance per node; anonymous clone instance numbers (sync:0) may change.
    return ctx.instance.split(":")[0]


def read_record(ctx: Context) -> dict[str, Any]:
    return state.read(RECORD, record_name(ctx)) or {}


def write_record(ctx: Context, record: dict[str, Any]) -> None:
    state.write(RECORD, record_name(ctx), record)


# ---- kernel operations -------------------------------------------------------------------

def running_daemons(k: Ipvs) -> dict[str, SyncDaemon]:
    return {d.state: d for d in k.daemons()}


def stop_daemon(ctx: Context, k: Ipvs, role: str) -> bool:
    """Stop the role's daemon if it runs; True if one was stopped."""
    from lvsocf.ipvs import errors

    if role not in running_daemons(k):
        return False
    try:
        k.stop_daemon(role)
    except errors.IpvsError as err:
        if role in running_daemons(k):
            raise kernel.as_ocf(err) from None
        return False        # gone meanwhile (ENOENT/ESRCH): what we wanted
    ctx.logger.info("stopped the %s sync daemon", role)
    return True


def ensure_daemon(ctx: Context, k: Ipvs, want: SyncDaemon) -> bool:
    """Make the role's daemon run as configured; True if it was (re)started."""
    from lvsocf.ipvs import errors

    have = running_daemons(k).get(want.state)
    if have is not None:
        diff = mismatches(want, have)
        if not diff:
            return False
        ctx.logger.warning("%s sync daemon runs with %s: restarting it", want.state,
                           ", ".join(diff))
        stop_daemon(ctx, k, want.state)
    try:
        k.start_daemon(want)
    except errors.Exists:
        have = running_daemons(k).get(want.state)
        if have is None or mismatches(want, have):
            raise OcfError(f"cannot start the {want.state} sync daemon: another one "
                           "appeared meanwhile") from None
        return False
    except errors.IpvsError as err:
        raise _daemon_error(want, err) from None
    ctx.logger.info("started the %s sync daemon on %s (syncid %d)", want.state,
                    want.interface, want.syncid)
    return True


def _daemon_error(want: SyncDaemon, err: Exception) -> OcfError:
    from lvsocf.ipvs import errors

    if isinstance(err, errors.NotFound | errors.InvalidArgument):
        return ArgsError(f"cannot start the {want.state} sync daemon on {want.interface}: "
                         f"{err} (does the interface exist, is it up, has it an address?)")
    return kernel.as_ocf(err)


def apply_settings(ctx: Context, k: Ipvs, promoted: bool) -> None:
    """Sysctls for the role and the configured timeouts; only what differs is written."""
    from lvsocf.ipvs import sysctl
    from lvsocf.ipvs.model import Timeouts

    try:
        changed = sysctl.ensure(sysctls(ctx.params, promoted))
    except sysctl.SysctlError as err:
        raise OcfError(str(err)) from None
    for name, old in changed.items():
        ctx.logger.info("net.ipv4.vs.%s: %s -> %s", name, old,
                        sysctls(ctx.params, promoted)[name])
    want = Timeouts(int(ctx.params.get("timeout_tcp") or 0),
                    int(ctx.params.get("timeout_tcpfin") or 0),
                    int(ctx.params.get("timeout_udp") or 0))
    if want != Timeouts():
        have = k.timeouts()
        if any(w and w != h for w, h in zip((want.tcp, want.tcp_fin, want.udp),
                                            (have.tcp, have.tcp_fin, have.udp), strict=True)):
            k.set_timeouts(want)
            ctx.logger.info("IPVS timeouts (tcp tcpfin udp): %s", want)


def set_score(ctx: Context, value: int | None) -> None:
    """Best effort: outside a cluster (or not promotable) nothing to set, never a failure."""
    if not ctx.promotable:
        return
    if not ctx.promotion_score(value):
        ctx.logger.warning("could not set the promotion score to %s", value)


def _now() -> float:
    return time.time()


def _backup_record(ctx: Context, record: dict[str, Any], restarted: bool, promoted: bool,
                   k: Ipvs) -> dict[str, Any]:
    since = record.get("backup_since")
    if restarted or not isinstance(since, int | float):
        since = _now()
    tcp = None if ctx.params.get("timeout_tcp") else k.timeouts().tcp
    out = {"backup_since": since, "promoted": promoted,
           "warmup": warmup_seconds(ctx.params, tcp),
           "interface": str(ctx.params["interface"]), "syncid": ctx.params["syncid"]}
    if promoted:
        out["promoted_since"] = record.get("promoted_since") or _now()
    return out


def _record_score(record: Mapping[str, Any]) -> int:
    since = record.get("backup_since")
    return score(bool(record.get("promoted")), since if isinstance(since, int | float) else None,
                 float(record.get("warmup") or 0), _now())


# ---- actions -----------------------------------------------------------------------------

def start(ctx: Context) -> int:
    record = read_record(ctx)
    with kernel.ipvs() as k:
        if stop_daemon(ctx, k, "master"):
            ctx.logger.warning("a master sync daemon was running at start: stopped it "
                               "(start leaves the resource unpromoted)")
        apply_settings(ctx, k, promoted=False)
        restarted = ensure_daemon(ctx, k, daemon_config(ctx.params, "backup"))
        record = _backup_record(ctx, record, restarted or not record, False, k)
    write_record(ctx, record)
    for message in warnings(ctx.params):
        ctx.logger.warning("%s", message)
    set_score(ctx, _record_score(record))
    return OCF_SUCCESS


def promote(ctx: Context) -> int:
    record = read_record(ctx)
    with kernel.ipvs() as k:
        apply_settings(ctx, k, promoted=True)
        try:
            restarted = ensure_daemon(ctx, k, daemon_config(ctx.params, "backup"))
        except OcfError as err:     # an old kernel may refuse both daemons at once
            ctx.logger.warning("no backup daemon next to the master: %s", err)
            restarted = False
        ensure_daemon(ctx, k, daemon_config(ctx.params, "master"))
        record = _backup_record(ctx, record, restarted or not record, True, k)
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
        if record:
            write_record(ctx, {**record, "promoted": False})
        return OCF_SUCCESS
    with kernel.ipvs() as k:
        stop_daemon(ctx, k, "master")
        restarted = ensure_daemon(ctx, k, daemon_config(ctx.params, "backup"))
        apply_settings(ctx, k, promoted=False)
        record = _backup_record(ctx, record, restarted or not record, False, k)
    write_record(ctx, record)
    set_score(ctx, _record_score(record))
    return OCF_SUCCESS


def stop(ctx: Context) -> int:
    if kernel.loaded():
        with kernel.ipvs() as k:
            for role in ("master", "backup"):
                stop_daemon(ctx, k, role)
    state.remove(RECORD, record_name(ctx))
    set_score(ctx, None)
    return OCF_SUCCESS


def monitor(ctx: Context) -> int:
    if not kernel.loaded():
        return OCF_NOT_RUNNING
    record = read_record(ctx)
    with kernel.ipvs() as k:
        running = running_daemons(k)
        rc = classify(running, bool(record.get("promoted")))
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
                restarted = ensure_daemon(ctx, k, daemon_config(ctx.params, "backup"))
            except OcfError as err:
                ctx.logger.warning("%s", err)
        _heal_settings(ctx, k, promoted)
        if restarted or not record or bool(record.get("promoted")) != promoted:
            record = _backup_record(ctx, record, restarted or not record, promoted, k)
            write_record(ctx, record)
    set_score(ctx, _record_score(record))
    return rc


def _heal_settings(ctx: Context, k: Ipvs, promoted: bool) -> None:
    from lvsocf.ipvs import sysctl

    want = sysctls(ctx.params, promoted)
    try:
        drift = {n: v for n, v in want.items() if sysctl.read(n) != str(v)}
        if drift:
            ctx.logger.warning("net.ipv4.vs sysctls changed outside the cluster (%s): "
                               "setting them again", ", ".join(sorted(drift)))
            apply_settings(ctx, k, promoted)
    except (OcfError, OSError) as err:
        ctx.logger.warning("cannot check the sync sysctls: %s", err)


def reload_agent(ctx: Context) -> int:
    record = read_record(ctx)
    with kernel.ipvs() as k:
        running = running_daemons(k)
        if not running:
            return OCF_NOT_RUNNING
        promoted = "master" in running or bool(record.get("promoted"))
        apply_settings(ctx, k, promoted)
        if record:
            record = _backup_record(ctx, record, False, promoted, k)
    if record:
        write_record(ctx, record)
        set_score(ctx, _record_score(record))
    return OCF_SUCCESS


def node_name(ctx: Context) -> str:
    return ctx.meta("on_node") or os.uname().nodename


def notify(ctx: Context) -> int:
    kind = f"{ctx.meta('notify_type', '')}-{ctx.meta('notify_operation', '')}"
    me = node_name(ctx)
    if kind == "pre-promote":
        targets = (ctx.meta("notify_promote_uname") or "").split()
        record = read_record(ctx)
        if me in targets or not record or record.get("promoted") or ctx.config_error:
            return OCF_SUCCESS
        # Another node is about to send: no stray master here, and our backup listening.
        with kernel.ipvs() as k:
            if stop_daemon(ctx, k, "master"):
                ctx.logger.warning("stopped a stray master sync daemon before %s is promoted",
                                   " ".join(targets))
            if ensure_daemon(ctx, k, daemon_config(ctx.params, "backup")):
                write_record(ctx, {**record, "backup_since": _now()})
    elif kind == "post-start":
        peers = [n for n in (ctx.meta("notify_start_uname") or "").split() if n != me]
        if peers:
            ctx.logger.info("sync backup started on %s: it holds only what is synced from "
                            "now on and warms up before it may take the promoted role",
                            " ".join(peers))
    return OCF_SUCCESS


AGENT = Agent(
    "IPVSSync", "IPVS connection synchronization (promotable clone)",
    """Runs the kernel's IPVS connection-sync daemons so that a backup director knows every
    connection and takes them over at failover. Configure it as a promotable clone with
    promoted-max=1. Hot standby (the shipped examples): the IPVS services and real servers
    are clones on every director; colocate the Promoted role with the service clone and the
    VIP with the Promoted role, ordered after the promotion, so a failover moves only these two.
    Unpromoted: backup daemon (backup_only as configured). Promoted: master daemon, the backup
    daemon kept running, backup_only 0. It also sets the sync sysctls (defaults keep idle
    long-lived connections alive on the backup) and optionally the IPVS timeouts.
    Promotion scores: 1 while a node's backup daemon warms up, 100 once it has run for the
    warm-up period, 101 on the promoted node, so a returning director does not take the role
    back with an empty table. To fail back to a preferred node once it is warm, use a rule
    on the warm score, which also beats resource-stickiness:
    location sync-failback-node1 ipvs-sync rule role=Promoted inf: #uname eq node1 and
    master-sync number:gte 100 (a plain location score would promote the node while it is
    still warming up, or never, against stickiness).""",
    parameters=PARAMETERS, actions=ACTIONS,
    handlers={"start": start, "stop": stop, "monitor": monitor, "promote": promote,
              "demote": demote, "notify": notify, "reload-agent": reload_agent},
    validate=validate, promotable=True,
)


def main() -> None:
    run(AGENT)
