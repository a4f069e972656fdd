"""The kernel's sync daemons and settings, as IPVSSync changes them: daemons are read and
changed through netlink (IPVS_CMD_GET_DAEMON/NEW_DAEMON/DEL_DAEMON), never through `ps`, and
every start/stop is keyed on what GET_DAEMON reports (EEXIST/ENOENT never fail an action).
The sync sysctls and the configured IPVS timeouts are written only where they differ."""
from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from lvsocf.agents import kernel
from lvsocf.agents.base import ArgsError, Context, OcfError
from lvsocf.agents.params import Value
from lvsocf.agents.sync.parameters import typed
from lvsocf.agents.sync.policy import sysctls
from lvsocf.ipvs.model import SyncDaemon

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lvsocf.ipvs.netlink import Ipvs


def daemon_config(params: Mapping[str, Value], role: str) -> SyncDaemon:
    """The daemon the parameters configure for the role ("master" or "backup"); 0 (or no
    group) for an option left to the kernel."""
    p = typed(params)
    group = p.text("mcast_group").strip()
    return SyncDaemon(role, p.text("interface"), p.integer("syncid"),
                      maxlen=p.integer("maxlen", unset=0), mcast_group=group or None,
                      mcast_port=p.integer("mcast_port", unset=0),
                      mcast_ttl=p.integer("mcast_ttl", unset=0))


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


def running_daemons(k: Ipvs) -> dict[str, SyncDaemon]:
    """The daemons that run, by role."""
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


def ensure_backup(ctx: Context, k: Ipvs) -> bool:
    """Make the configured backup daemon run; True if it was (re)started."""
    return ensure_daemon(ctx, k, daemon_config(ctx.params, "backup"))


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
    p = typed(ctx.params)
    want = Timeouts(p.integer("timeout_tcp", unset=0), p.integer("timeout_tcpfin", unset=0),
                    p.integer("timeout_udp", unset=0))
    if want != Timeouts():
        have = k.timeouts()
        if any(w and w != h for w, h in zip((want.tcp, want.tcp_fin, want.udp),
                                            (have.tcp, have.tcp_fin, have.udp), strict=True)):
            k.set_timeouts(want)
            ctx.logger.info("IPVS timeouts (tcp tcpfin udp): %s", want)


def heal_settings(ctx: Context, k: Ipvs, promoted: bool) -> None:
    """Set the sysctls again if they were changed outside the cluster (best effort)."""
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
