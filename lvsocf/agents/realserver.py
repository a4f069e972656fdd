"""ocf:lvsocf:IPVSRealServer — one health-checked real server of one IPVS service.

start registers the real server with the node's check engine (lvsocf.engine: one asyncio
process per node runs every real server's checks and owns their weights), which adds it to
the kernel with weight 0 (or initial_weight) until its first verdict; stop deregisters it,
drains it (weight 0 until its active connections end or drain_timeout) and removes it;
monitor reads /proc/net/ip_vs and the engine's health record (no netlink, no pyroute2) and
restarts the engine if it is gone; reload-agent changes the check and weights live, keeping
the health state.
"""
from __future__ import annotations

import copy
import ipaddress
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from lvsocf import state
from lvsocf.agents import identity
from lvsocf.agents import ocfcompat as _c
from lvsocf.agents.base import (
    OCF_DEGRADED,
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
from lvsocf.agents.params import Value
from lvsocf.checks import CHECK_KINDS, CheckConfigError, build_checker
from lvsocf.engine import client
from lvsocf.engine.registry import Registration, digest, parse
from lvsocf.ipvs.model import RealServer, ServiceKey
from lvsocf.records import key_to_json

RECORD = "realservers"
HEALTH = "health"
GROUP = "realserver"
CHECK_OPTIONS = ("check_address", "check_port", "http_method", "request", "virtualhost",
                 "status_codes", "receive", "tls_verify", "ca_file", "reuse_connection",
                 "udp_payload", "udp_expect", "dns_query", "dns_type", "external_command")
UNHEALTHY = ("down", "soft_up")


def _regrouped(p: Param) -> Param:
    """The shared identity parameter, made part of this agent's unique-group: one real server
    per (service, rip, rport)."""
    q = copy.copy(p)
    q.unique_group = GROUP
    return q


def _check(name: str, shortdesc: str, longdesc: str, **kw: Any) -> Param:
    return Param(name, shortdesc, longdesc, reloadable=True, **kw)


PARAMETERS = tuple(_regrouped(p) for p in identity.PARAMETERS) + (
    Param("rip", "Real server address", """
          The real server's IPv4 or IPv6 address (ipvsadm -r).""",
          required=True, unique_group=GROUP),
    Param("rport", "Real server port", """
          The real server's port; defaults to the service port. Only method masq (NAT) can
          map to another port; leave it unset for fwmark services with gate or ipip.""",
          type="integer", min=0, max=65535, unique_group=GROUP),
    Param("method", "Forwarding method", """
          gate (direct routing, ipvsadm -g), masq (NAT, -m) or ipip (tunnel, -i).""",
          type="select", choices=("gate", "masq", "ipip"), default="gate", reloadable=True),
    Param("weight", "Weight", """
          The weight while the real server is healthy (ipvsadm -w). 0 takes no new
          connections (quiescent) but keeps it in the table.""",
          type="integer", min=0, max=65535, default=1, reloadable=True),
    Param("u_threshold", "Upper connection threshold", """
          No new connections above this many (ipvsadm -x); 0 = no limit.""",
          type="integer", min=0, max=2147483647, default=0, reloadable=True),
    Param("l_threshold", "Lower connection threshold", """
          Back in service below this many after the upper threshold was hit (ipvsadm -y).""",
          type="integer", min=0, max=2147483647, default=0, reloadable=True),
    Param("initial_weight", "Weight before the first verdict", """
          The weight a newly started real server gets until its checks have reached a verdict
          (rise successes or fall failures). Unset: 0, no traffic before it is proven healthy
          (keepalived's alpha). Set it to the weight to serve at once and be taken out only by
          failures.""", type="integer", min=0, max=65535, reloadable=True),
    _check("check_type", "Health check", f"""
          How the real server is checked: {', '.join(CHECK_KINDS)}. none keeps it up
          without probing. tcp connects (and resets); tcp-half-open only sends a SYN and
          takes the SYN-ACK, so the backend's application never sees a connection.""",
          type="select", choices=CHECK_KINDS, default="tcp"),
    _check("check_address", "Check address", """
          Probe this address instead of rip (e.g. a management address).""", default=""),
    _check("check_port", "Check port", """
          Probe this port instead of rport (tcp, http, https, udp, dns).""",
          type="integer", min=1, max=65535),
    _check("check_interval", "Check interval", """
          Time between the starts of two checks (seconds, or with a unit: 500ms, 1m).""",
          type="time", min=0.1, max=86400, default=5),
    _check("check_timeout", "Check timeout", """
          A check that has not succeeded within this time failed.""",
          type="time", min=0.01, max=3600, default=3),
    _check("rise", "Rise", """
          Consecutive successes that make a down (or new) real server up.""",
          type="integer", min=1, max=1000, default=2),
    _check("fall", "Fall", """
          Consecutive failures that make an up (or new) real server down.""",
          type="integer", min=1, max=1000, default=3),
    _check("http_method", "HTTP method", "GET or HEAD (http, https).",
           type="select", choices=("GET", "HEAD"), default="GET"),
    _check("request", "HTTP request path", "The path requested (http, https).",
           default="/"),
    _check("virtualhost", "HTTP virtual host", """
          Host header and TLS server name (http, https); default the address.""", default=""),
    _check("status_codes", "Accepted HTTP status codes", """
          Codes and ranges that count as up, e.g. 200-299,301 (http, https).""",
          default="200-299"),
    _check("receive", "Expected response", """
          A regular expression the HTTP body (http, https) or a DNS answer (dns) must
          match.""", default=""),
    _check("tls_verify", "Verify TLS", """
          Verify the real server's certificate chain and name (https).""",
          type="boolean", default=True),
    _check("ca_file", "CA bundle", """
          PEM file of CA certificates to verify against instead of the system store
          (https).""", default=""),
    _check("reuse_connection", "Reuse the HTTP connection", """
          Send the next check's request on the connection of the last one when the server
          keeps it open (http; as Envoy's health checks do). Saves the director and the real
          server a TCP handshake per check; a new connection is opened after a failed check
          or when the server closes it. Off: every check proves a new connection.""",
           type="boolean", default=False),
    _check("udp_payload", "UDP payload", "Hex bytes sent by the udp check.", default=""),
    _check("udp_expect", "Expected UDP reply", """
          Hex prefix the reply must start with (udp). Unset: up unless an ICMP port
          unreachable comes back.""", default=""),
    _check("dns_query", "DNS query name", "Name queried by the dns check (default .).",
           default=""),
    _check("dns_type", "DNS query type", "A, AAAA, NS, SOA, MX, TXT, CNAME or PTR (dns).",
           default=""),
    _check("external_command", "External check command", """
          Command run by the external check: shell-quoted words, never run through a
          shell; exit status 0 = up. It gets LVSOCF_RIP, LVSOCF_RPORT and LVSOCF_TIMEOUT.
          Never logged.""", default=""),
    Param("failure_action", "What a failure does", """
          quiescent: weight 0, the entry stays (existing connections continue; ldirectord's
          quiescent=yes, keepalived's inhibit_on_failure). remove: the entry is deleted and
          re-added when the real server is back.""",
          type="select", choices=("quiescent", "remove"), default="quiescent",
          reloadable=True),
    Param("drain_timeout", "Drain time on stop", """
          On stop the real server first gets weight 0 and is removed once its active
          connections have ended, or after this long (0: removed at once). Bounded by the
          stop operation's timeout.""",
          type="time", min=0, max=86400, default=10, reloadable=True),
)

ACTIONS = (
    Action("start", 60), Action("stop", 60),
    Action("monitor", 20, interval=10, depth=0),
    Action("reload-agent", 60),
    Action("meta-data", 5),
    Action("validate-all", 20, depth=0), Action("validate-all", 20, depth=10),
)


# ---- parameters -> record ---------------------------------------------------------------

def real_server(params: Mapping[str, Value], key: ServiceKey) -> RealServer:
    try:
        rip = str(ipaddress.ip_address(str(params.get("rip") or "")))
    except ValueError:
        raise ConfigError(f"rip {str(params.get('rip'))[:60]!r} is not an IPv4 or IPv6 "
                          "address") from None
    method = str(params.get("method") or "gate")
    rport = params.get("rport")
    if rport is None:
        rport = key.port
    elif method != "masq" and not key.fwmark and rport != key.port:
        raise ConfigError(f"rport {rport} differs from the service port {key.port}: only "
                          "method masq (NAT) maps ports; use check_port to probe another port")
    rs = RealServer(rip, int(rport), method, int(params.get("weight") or 0),
                    int(params.get("u_threshold") or 0), int(params.get("l_threshold") or 0))
    if rs.family != key.family and method != "ipip":
        raise ConfigError(f"rip {rip} is not of the service's address family ({key.family}); "
                          "only method ipip can cross families")
    return rs


def _option_text(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def record_of(params: Mapping[str, Value]) -> dict[str, Any]:
    """The `realservers` record the parameters describe; ConfigError when malformed."""
    key = identity.service_key(params)
    rs = real_server(params, key)
    options = {name: _option_text(params.get(name)) for name in CHECK_OPTIONS}
    initial = params.get("initial_weight")
    return {
        "service": key_to_json(key),
        "real_server": {"address": rs.address, "port": rs.port, "method": rs.method,
                        "weight": rs.weight, "u_threshold": rs.u_threshold,
                        "l_threshold": rs.l_threshold},
        "check": {"kind": str(params.get("check_type") or "tcp"),
                  "options": {k: v for k, v in options.items() if v != ""},
                  "interval": float(params.get("check_interval") or 5),
                  "timeout": float(params.get("check_timeout") or 3),
                  "rise": int(params.get("rise") or 2), "fall": int(params.get("fall") or 3)},
        "failure_action": str(params.get("failure_action") or "quiescent"),
        "initial_weight": None if initial is None else int(initial),
        "drain_timeout": float(params.get("drain_timeout") or 0),
    }


def _action() -> str | None:
    return getattr(_c.ocf, "OCF_ACTION", None)


def validate(params: Mapping[str, Value], depth: int) -> None:
    reg = parse("validate", record_of(params))
    # build_checker imports the check module (asyncio): not on the recurring monitor's path.
    if depth >= 10 or _action() != "monitor":
        try:
            build_checker(reg.check.kind, reg.target, reg.check.option_map)
        except CheckConfigError as exc:
            raise ConfigError(str(exc)) from None
    if depth < 10:
        return
    import shlex
    import shutil

    from lvsocf.agents import kernel

    if reg.check.kind == "external":
        program = shlex.split(reg.check.option_map.get("external_command", ""))[0]
        if shutil.which(program) is None:
            raise InstalledError(f"external_command: {program[:60]!r} is not an executable "
                                 "program")
    if not kernel.module_available("ip_vs"):
        raise InstalledError("IPVS is not available in this kernel (module ip_vs missing)")


# ---- helpers ----------------------------------------------------------------------------

def _budget(ctx: Context, margin: float = 5.0) -> float:
    """Seconds this action may still spend: Pacemaker's timeout, else the one we declare."""
    declared = next((float(a.timeout.rstrip("s")) for a in ACTIONS if a.name == ctx.action),
                    20.0)
    return max(2.0, (ctx.timeout or declared) - margin)


def _proc_entry(key: ServiceKey, ident: tuple[str, int]):
    """(service present, its /proc entry for ident or None), from /proc/net/ip_vs."""
    from lvsocf.ipvs import proc

    service = next((s for s in proc.read_services() or () if s.matches(key)), None)
    if service is None:
        return False, None
    return True, next((r for r in service.real_servers
                       if (r.address, r.port) == ident), None)


def _registration(ctx: Context) -> Registration | None:
    data = state.read(RECORD, ctx.instance)
    if data is None:
        return None
    try:
        return parse(ctx.instance, data)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise OcfError(f"the state record of {ctx.instance} is unreadable: "
                       f"{state.state_dir()}/{RECORD}") from None


def _register(ctx: Context, data: dict[str, Any], what: str) -> dict[str, Any]:
    """Write the record, make sure the engine runs and wait until it runs this version."""
    wanted = digest(data)
    state.write(RECORD, ctx.instance, data)
    budget = _budget(ctx)
    try:
        client.ensure_running(budget)
        client.notify()
        return client.wait_for(
            lambda h: bool(h) and h.get("registration") == wanted
            and (h.get("weight") is not None or bool(h.get("error"))
                 or h.get("state") != "unknown"),
            ctx.instance, budget) or {}
    except client.EngineError as exc:
        raise OcfError(f"{what}: {exc}") from None


# ---- actions ----------------------------------------------------------------------------

def start(ctx: Context) -> int:
    data = record_of(ctx.params)
    reg = parse(ctx.instance, data)
    present, _entry = _proc_entry(reg.key, reg.server.ident)
    if not present:
        raise OcfError(f"service {reg.key} does not exist: start its IPVSService first "
                       "(order it before the real servers)")
    health = _register(ctx, data, f"cannot register {reg.server}")
    present, entry = _proc_entry(reg.key, reg.server.ident)
    if entry is None:
        state.remove(RECORD, ctx.instance)
        client.notify()
        reason = health.get("error") or "the check engine did not add it"
        raise OcfError(f"real server {reg.server} of {reg.key} not added: {reason}")
    ctx.logger.info("real server %s of %s registered (%s check, weight %d until the first "
                    "verdict)", reg.server, reg.key, reg.check.kind, entry.weight)
    return OCF_SUCCESS


def reload_agent(ctx: Context) -> int:
    old = _registration(ctx)
    if old is None:
        return OCF_NOT_RUNNING
    data = record_of(ctx.params)
    new = parse(ctx.instance, data)
    if new.ident != old.ident:
        raise ConfigError("the real server's identity (service, rip, rport) cannot change "
                          "with reload-agent")
    _register(ctx, data, f"cannot reconfigure {new.server}")
    ctx.logger.info("real server %s of %s reconfigured", new.server, new.key)
    return OCF_SUCCESS


def stop(ctx: Context) -> int:
    began = time.monotonic()
    # Pacemaker runs stop with the *new* parameters after a change: undo what start recorded.
    try:
        reg = _registration(ctx)
    except OcfError:
        reg = None
    if reg is None:
        if ctx.config_error is not None:
            return OCF_SUCCESS      # unusable parameters and no record: nothing was started
        reg = parse(ctx.instance, record_of(ctx.params))
    drain = ctx.params.get("drain_timeout")
    if drain is None:
        drain = (state.read(RECORD, ctx.instance) or {}).get("drain_timeout", 0)
    state.remove(RECORD, ctx.instance)
    budget = _budget(ctx)
    if client.notify():
        try:        # the engine lets go of the entry before we drain it
            client.wait_for(lambda h: h is None, ctx.instance, min(10.0, budget / 3),
                            restart=False)
        except client.EngineError as exc:
            ctx.logger.warning("%s; draining anyway", exc)
    present, entry = _proc_entry(reg.key, reg.server.ident)
    if entry is not None:
        left = budget - (time.monotonic() - began)
        _drain_and_remove(ctx, reg, min(float(drain or 0), max(0.0, left - 5.0)))
    state.remove(HEALTH, ctx.instance)
    return OCF_SUCCESS


def _drain_and_remove(ctx: Context, reg: Registration, drain: float) -> None:
    from lvsocf.agents import kernel
    from lvsocf.ipvs import errors
    from lvsocf.ipvs.fallback import plan_fallback
    from lvsocf.ipvs.reconcile import apply

    key, ident = reg.key, reg.server.ident
    fallback = _fallback(key)

    def follow_fallback(k) -> None:
        try:
            result = apply(k, plan_fallback(key, fallback, k.real_servers(key)))
        except errors.IpvsError as exc:
            ctx.logger.warning("fallback server: %s", exc)
            return
        for op in result.applied:
            ctx.logger.info("fallback server: %s", op.what)

    with kernel.ipvs() as k:
        try:
            infos = k.real_servers(key)
        except errors.NotFound:
            return
        info = next((i for i in infos if i.real_server.ident == ident), None)
        if info is None:
            return
        if drain > 0 and info.real_server.weight > 0:
            k.edit_real_server(key, replace(info.real_server, weight=0))
            ctx.logger.info("draining %s of %s for up to %gs", reg.server, key, drain)
            follow_fallback(k)
        deadline = time.monotonic() + drain
        while drain > 0 and time.monotonic() < deadline:
            _present, entry = _proc_entry(key, ident)
            if entry is None or entry.active_conns == 0:
                break
            time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        else:
            if drain > 0:
                ctx.logger.info("drain of %s of %s timed out after %gs", reg.server, key,
                                drain)
        try:
            k.delete_real_server(key, *ident)
            ctx.logger.info("removed real server %s of %s", reg.server, key)
        except errors.NotFound:
            pass
        follow_fallback(k)


def _fallback(key: ServiceKey) -> RealServer | None:
    from lvsocf.records import ServiceRecord

    return next((r.fallback for r in ServiceRecord.all().values()
                 if r.key == key and r.fallback is not None), None)


def monitor(ctx: Context) -> int:
    if ctx.config_error is not None:
        return OCF_NOT_RUNNING
    reg = _registration(ctx)
    if reg is None:
        return OCF_NOT_RUNNING
    if client.running_pid() is None:
        try:
            pid = client.ensure_running(_budget(ctx))
        except client.EngineError as exc:
            raise OcfError(f"the check engine is gone and cannot be restarted: {exc}") \
                from None
        ctx.logger.warning("the check engine was not running: restarted it (pid %d)", pid)
    health = state.read(HEALTH, ctx.instance) or {}
    current = health.get("registration") == reg.digest
    present, entry = _proc_entry(reg.key, reg.server.ident)
    down = current and health.get("state") in UNHEALTHY
    if entry is None:
        if present and down and reg.failure_action == "remove":
            ctx.exit_reason(f"{reg.server} is down and removed: {health.get('detail', '')}")
            return OCF_DEGRADED
        return OCF_NOT_RUNNING
    if down:
        ctx.exit_reason(f"{reg.server} is down (weight {entry.weight}): "
                        f"{health.get('detail', '')}")
        return OCF_DEGRADED
    return OCF_SUCCESS


AGENT = Agent(
    "IPVSRealServer", "One health-checked real server of an IPVS service",
    """Manages one real server of an IPVS virtual service (made by ocf:lvsocf:IPVSService):
    its address, port, forwarding method, weight and thresholds, and its health check.
    The checks of every real server on a node run in one check engine process (started on
    demand, restarted by monitor if it dies, changing no weight when it does): a healthy real
    server has its configured weight, a failed one weight 0 (failure_action=quiescent) or no
    entry (remove); when no real server of the service has weight, the service's fallback
    server goes in. monitor returns 190 (degraded) while the real server is down.
    stop is a graceful drain: weight 0, then removal once its connections have ended or
    drain_timeout has passed. Health is published in /run/lvsocf/health and, under Pacemaker,
    as node attributes lvsocf-INSTANCE (crm_mon -A).""",
    parameters=PARAMETERS, actions=ACTIONS,
    handlers={"start": start, "stop": stop, "monitor": monitor, "reload-agent": reload_agent},
    validate=validate,
)


def main() -> None:
    run(AGENT)
