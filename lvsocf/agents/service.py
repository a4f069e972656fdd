"""ocf:lvsocf:IPVSService — one IPVS virtual service.

start creates the service or adopts an existing one, editing its settings in place (never
delete + add, which would drop every connection); stop deletes only this service; monitor
reads /proc/net/ip_vs (no netlink, no pyroute2) and, at OCF_CHECK_LEVEL 10, compares every
setting through netlink; reload-agent applies scheduler/persistence/fallback changes live.
"""
from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Mapping

from lvsocf import state
from lvsocf.agents import fastpath, identity, kernel
from lvsocf.agents.base import (
    OCF_ERR_GENERIC,
    OCF_NOT_RUNNING,
    OCF_SUCCESS,
    Action,
    Agent,
    ConfigError,
    Context,
    InstalledError,
    OcfError,
    Param,
    run,
)
from lvsocf.agents.params import Params, Value
from lvsocf.ipvs import proc
from lvsocf.ipvs.model import SCHED_FLAGS, RealServer, Service, ServiceKey
from lvsocf.records import ServiceRecord

SCHEDULERS = ("rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf",
              "mh", "twos")

PARAMETERS = identity.PARAMETERS + (
    Param("scheduler", "Scheduler", f"""
          The IPVS scheduling algorithm (ipvsadm -s): one of {', '.join(SCHEDULERS)}.
          Changed with reload-agent, live and without dropping connections.""",
          default="wlc", reloadable=True),
    Param("sched_flags", "Scheduler flags", """
          Comma-separated scheduler flags (ipvsadm -b): sh-fallback and sh-port for sh,
          mh-fallback and mh-port for mh, or flag-1, flag-2, flag-3.""",
          default="", reloadable=True),
    Param("persistent", "Persistence timeout (seconds)", """
          Persistent service (ipvsadm -p, keepalived persistence_timeout): a client keeps
          going to the same real server for this many seconds after its last connection.
          0 turns persistence off.""",
          type="integer", default=0, min=0, max=2678400, reloadable=True),
    Param("netmask", "Persistence granularity", """
          Which clients share persistence (ipvsadm -M): an IPv4 netmask such as 255.255.255.0,
          or for IPv6 a prefix length such as 64. Needs persistent.""",
          default="", reloadable=True),
    Param("pe", "Persistence engine", """
          Persistence engine (ipvsadm --pe), e.g. sip for Call-ID based persistence of
          SIP over UDP (protocol=udp or a fwmark service; with ops=true every datagram
          follows its call's Call-ID). Needs persistent.""", default="", reloadable=True),
    Param("ops", "One-packet scheduling", """
          Schedule every UDP datagram on its own (ipvsadm -o), for UDP services whose
          datagrams are independent (DNS, syslog).""",
          type="boolean", default=False, reloadable=True),
    Param("fallback", "Fallback (sorry) server", """
          ADDRESS[:PORT] of a server that gets the traffic while no real server of this
          service has weight (all health checks down, or none configured); it is taken out
          as soon as one real server is back (ldirectord fallback, keepalived sorry_server).
          The port defaults to the service port.""", default="", reloadable=True),
    Param("fallback_method", "Forwarding method of the fallback server", """
          gate (direct routing), masq (NAT) or ipip (tunnel).""",
          type="select", choices=("gate", "masq", "ipip"), default="masq", reloadable=True),
)

ACTIONS = (
    Action("start", 30), Action("stop", 30),
    Action("monitor", 30, interval=10, depth=0),
    Action("monitor", 30, interval=60, depth=10),
    Action("reload-agent", 30),
    Action("meta-data", 5),
    Action("validate-all", 20, depth=0), Action("validate-all", 20, depth=10),
)

_NAME = re.compile(r"^[a-z0-9_]{1,15}$")


def _netmask(key: ServiceKey, raw: str) -> str | int | None:
    raw = raw.strip()
    if not raw:
        return None
    if key.family == "inet6":
        if not raw.isdigit():
            raise ConfigError(f"netmask {raw[:40]!r}: an IPv6 service takes a prefix length "
                              "(1-128), not a dotted quad")
        prefix = int(raw)
        if not 1 <= prefix <= 128:
            raise ConfigError(f"netmask {prefix}: an IPv6 prefix length is 1-128")
        return prefix
    try:
        # "/N" and dotted quads both parse as the prefix of 0.0.0.0/...
        return str(ipaddress.IPv4Network(f"0.0.0.0/{raw}").netmask)
    except ValueError:
        raise ConfigError(f"netmask {raw[:40]!r} is not an IPv4 netmask "
                          "(e.g. 255.255.255.0)") from None


def _sched_flags(scheduler: str, raw: str) -> frozenset[str]:
    flags = frozenset(f.strip() for f in raw.split(",") if f.strip())
    for flag in flags:
        if flag not in SCHED_FLAGS:
            raise ConfigError(f"sched_flags: unknown flag {flag[:30]!r} (known: "
                              f"{', '.join(sorted(SCHED_FLAGS))})")
        prefix = flag.split("-")[0]
        if prefix in ("sh", "mh") and prefix != scheduler:
            raise ConfigError(f"sched_flags: {flag} is a flag of the {prefix} scheduler, "
                              f"not of {scheduler}")
    return flags


def desired(params: Mapping[str, Value]) -> Service:
    """The Service the parameters describe; ConfigError (exit 6) on anything malformed."""
    p = Params.of(PARAMETERS, params)
    key = identity.service_key(p)
    scheduler = p.text("scheduler")
    if not _NAME.match(scheduler) or scheduler not in SCHEDULERS:
        raise ConfigError(f"scheduler {scheduler[:30]!r} is not an IPVS scheduler "
                          f"({', '.join(SCHEDULERS)})")
    persistent = p.integer("persistent")
    netmask = _netmask(key, p.text("netmask"))
    pe = p.text("pe")
    if pe and not _NAME.match(pe):
        raise ConfigError(f"pe {pe[:30]!r} is not a persistence engine name (e.g. sip)")
    if not persistent and (netmask is not None or pe):
        raise ConfigError("netmask and pe need persistence: set persistent to a timeout")
    if pe == "sip" and not key.fwmark and key.protocol != "udp":
        # the kernel's SIP engine reads the Call-ID of UDP datagrams only: on a TCP or SCTP
        # service it would silently fall back to persistence by client address
        raise ConfigError(f"pe sip works for SIP over UDP only: set protocol=udp (this "
                          f"service is {key.protocol})")
    one_packet = p.flag("ops")
    if one_packet and not key.fwmark and key.protocol != "udp":
        raise ConfigError("ops (one-packet scheduling) is for UDP services only")
    return Service(key, scheduler=scheduler, sched_flags=_sched_flags(
        scheduler, p.text("sched_flags")), persistent=persistent, netmask=netmask,
        pe_name=pe, one_packet=one_packet)


def fallback_server(params: Mapping[str, Value], key: ServiceKey) -> RealServer | None:
    p = Params.of(PARAMETERS, params)
    raw = p.text("fallback").strip()
    if not raw:
        return None
    address, port = identity.parse_hostport(raw, "fallback", key.port)
    rs = RealServer(address, port, p.text("fallback_method"), weight=1)
    if rs.family != key.family:
        raise ConfigError(f"fallback {address} is not of the service's address family")
    return rs


def validate(params: Mapping[str, Value], depth: int) -> None:
    svc = desired(params)
    fallback_server(params, svc.key)
    if depth < 10:
        return
    if not kernel.module_available("ip_vs"):
        raise InstalledError("IPVS is not available in this kernel (module ip_vs missing)")
    if not kernel.module_available(f"ip_vs_{svc.scheduler}"):
        raise InstalledError(f"scheduler {svc.scheduler} is not available in this kernel "
                             f"(module ip_vs_{svc.scheduler} missing)")
    if svc.pe_name and not kernel.module_available(f"ip_vs_pe_{svc.pe_name}"):
        raise InstalledError(f"persistence engine {svc.pe_name} is not available in this "
                             f"kernel (module ip_vs_pe_{svc.pe_name} missing)")


# ---- actions ----------------------------------------------------------------------------

def _apply(ctx: Context) -> int:
    from lvsocf.ipvs import reconcile
    from lvsocf.ipvs.op import OpKind

    # one deadline for everything this action waits for
    deadline = time.monotonic() + max(2.0, (ctx.timeout or 30.0) - 5.0)
    svc = desired(ctx.params)
    fallback = fallback_server(ctx.params, svc.key)
    with kernel.ipvs() as k:
        result = reconcile.reconcile_service(k, svc)
        if result.failed:
            raise kernel.as_ocf(result.failed[0][1])
        for op in result.applied:
            verb = "created" if op.kind is OpKind.ADD_SERVICE else "edited in place"
            ctx.logger.info("%s: %s", verb, op.what)
        ServiceRecord(svc.key, fallback).write(ctx.instance)
        if fallback is not None:
            _await_fallback(ctx, k, svc.key, fallback, deadline)
    return OCF_SUCCESS


def _await_fallback(ctx: Context, k, key: ServiceKey, fallback: RealServer,
                    deadline: float) -> None:
    """The check engine puts the fallback server in and takes it out (it is the only writer
    of real-server entries): make sure it runs and wait until the table is as the fallback
    rule says. A failure is a warning, as a failed fallback always was: the service works."""
    from lvsocf.engine import client
    from lvsocf.ipvs.errors import IpvsError
    from lvsocf.ipvs.fallback import plan_fallback

    try:
        client.ensure_running(max(1.0, deadline - time.monotonic()))
        client.notify()
        client.wait_until(
            lambda: not plan_fallback(key, fallback, k.real_servers(key, stats=False)),
            max(1.0, deadline - time.monotonic()))
    except (client.EngineError, IpvsError) as exc:
        ctx.logger.warning("fallback server %s: %s", fallback, exc)


def start(ctx: Context) -> int:
    return _apply(ctx)


def reload_agent(ctx: Context) -> int:
    if _find(identity.service_key(ctx.params)) is None:
        return OCF_NOT_RUNNING
    return _apply(ctx)


def stop(ctx: Context) -> int:
    # Pacemaker runs stop with the *new* parameters after a change: undo what start recorded.
    record = ServiceRecord.read(ctx.instance)
    key = record.key if record is not None else None
    if key is None:
        if ctx.config_error is not None:
            return OCF_SUCCESS      # unusable parameters: nothing can have been started
        key = identity.service_key(ctx.params)
    if kernel.loaded():
        from lvsocf.ipvs import errors
        with kernel.ipvs() as k:
            try:
                k.delete_service(key)
                ctx.logger.info("deleted service %s", key)
            except errors.NotFound:
                pass
    state.remove(ServiceRecord.KIND, ctx.instance)
    return OCF_SUCCESS


def _find(key: ServiceKey):
    services = proc.read_services()
    return next((s for s in services or () if s.matches(key)), None)


def monitor(ctx: Context) -> int:
    if ctx.config_error is not None:
        return OCF_NOT_RUNNING
    svc = desired(ctx.params)
    found = _find(svc.key)
    if found is None:
        return OCF_NOT_RUNNING
    if found.scheduler != svc.scheduler or found.persistent != bool(svc.persistent):
        raise OcfError(f"service {svc.key} was changed outside the cluster: scheduler "
                       f"{found.scheduler}{', persistent' if found.persistent else ''}; "
                       f"expected {svc.scheduler}{', persistent' if svc.persistent else ''}",
                       OCF_ERR_GENERIC)
    if ctx.depth >= 10:
        with kernel.ipvs() as k:
            info = k.service(svc.key)
        if info is None:
            return OCF_NOT_RUNNING
        if not svc.same_settings(info.service):
            raise OcfError(f"service {svc.key} was changed outside the cluster: "
                           f"{_describe(info.service)}; expected {_describe(svc)}")
    if not ctx.probe:   # what the next recurring monitors compare, in bash
        fastpath.write(ctx.instance, (p.name for p in PARAMETERS),
                       {"proc": str(proc.PROC_SERVICES), "header": found.line})
    return OCF_SUCCESS


def _describe(svc: Service) -> str:
    words = [f"scheduler {svc.scheduler}"]
    if svc.sched_flags:
        words.append("flags " + ",".join(sorted(svc.sched_flags)))
    if svc.persistent:
        words.append(f"persistent {svc.persistent} netmask {svc.effective_netmask}")
    if svc.pe_name:
        words.append(f"pe {svc.pe_name}")
    if svc.one_packet:
        words.append("ops")
    return " ".join(words)


AGENT = Agent(
    "IPVSService", "One IPVS virtual service",
    """Manages one IPVS (LVS) virtual service in the kernel table: a tcp/udp/sctp VIP:PORT or a
    firewall mark, its scheduler, persistence and fallback server. Real servers are separate
    ocf:lvsocf:IPVSRealServer resources. Run the service and its real servers as clones on
    every director (hot standby: a failover moves only the VIP and the sync master role), and
    start the VIP (ocf:heartbeat:IPaddr2) only where the service runs: a director that owns
    the VIP before its service exists answers clients with RST. See the crm-examples.""",
    parameters=PARAMETERS, actions=ACTIONS,
    handlers={"start": start, "stop": stop, "monitor": monitor, "reload-agent": reload_agent},
    validate=validate, monitor_tickets=True,
)


def main() -> None:
    run(AGENT)
