"""ocf:lvsocf:IPVSRealServer — one health-checked real server of one IPVS service.

start registers the real server with the node's check engine (lvsocf.engine: one asyncio
process per node runs every real server's checks and is the only writer of their entries),
which adds it to the kernel with weight 0 (or initial_weight) until its first verdict; stop
records a drain deadline and waits while the engine drains it (weight 0 until its active
connections end or drain_timeout) and removes it;
monitor reads /proc/net/ip_vs and the engine's health record (no netlink, no pyroute2) and
restarts the engine if it is gone; reload-agent changes the check and weights live, keeping
the health state.
"""
from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Mapping
from dataclasses import replace

from lvsocf import state
from lvsocf.agents import engine_watch, fastpath, identity
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
    run,
)
from lvsocf.agents.params import Params, Value
from lvsocf.agents.realserver_params import CHECK_OPTIONS, PARAMETERS
from lvsocf.checks import CheckConfigError, build_checker
from lvsocf.checks.spec import options_of
from lvsocf.checks.spec.external import ExternalOptions
from lvsocf.engine import client
from lvsocf.engine.registry import Registration, digest, from_record
from lvsocf.ipvs.model import RealServer, ServiceKey
from lvsocf.records import CheckSpec, HealthRecord, RealServerRecord, RecordError

__all__ = ["AGENT", "PARAMETERS", "main", "record_of"]

RECORD = RealServerRecord.KIND
HEALTH = HealthRecord.KIND


ACTIONS = (
    Action("start", 60), Action("stop", 60),
    Action("monitor", 20, interval=10, depth=0),
    Action("reload-agent", 60),
    Action("meta-data", 5),
    Action("validate-all", 20, depth=0), Action("validate-all", 20, depth=10),
)


# ---- parameters -> record ---------------------------------------------------------------

def _typed(params: Mapping[str, Value]) -> Params:
    return Params.of(PARAMETERS, params)


def real_server(params: Mapping[str, Value], key: ServiceKey) -> RealServer:
    p = _typed(params)
    try:
        rip = str(ipaddress.ip_address(p.text("rip")))
    except ValueError:
        raise ConfigError(f"rip {str(params.get('rip'))[:60]!r} is not an IPv4 or IPv6 "
                          "address") from None
    method = p.text("method")
    rport = p.value("rport")
    if rport is None:
        rport = key.port
    elif method != "masq" and not key.fwmark and rport != key.port:
        raise ConfigError(f"rport {rport} differs from the service port {key.port}: only "
                          "method masq (NAT) maps ports; use check_port to probe another port")
    rs = RealServer(rip, int(rport), method, p.integer("weight"), p.integer("u_threshold"),
                    p.integer("l_threshold"))
    if rs.family != key.family and method != "ipip":
        raise ConfigError(f"rip {rip} is not of the service's address family ({key.family}); "
                          "only method ipip can cross families")
    return rs


def record_of(params: Mapping[str, Value]) -> RealServerRecord:
    """The `realservers` record the parameters describe; ConfigError when malformed."""
    p = _typed(params)
    key = identity.service_key(p)
    rs = real_server(p, key)
    options = {name: p.value(name) for name in CHECK_OPTIONS}     # typed: JSON types
    record = RealServerRecord(
        key, rs, CheckSpec(p.text("check_type"),
                           tuple(sorted((k, v) for k, v in options.items()
                                        if v is not None and v != "")),
                           p.seconds("check_interval"), p.seconds("check_timeout"),
                           p.integer("rise"), p.integer("fall")),
        p.text("failure_action"), p.integer("initial_weight"),
        p.seconds("drain_timeout"), slow_start=p.seconds("slow_start"))
    try:        # exactly what the engine will read
        return RealServerRecord.from_json(record.to_json())
    except RecordError as exc:
        raise ConfigError(str(exc)) from None


def _action() -> str | None:
    return getattr(_c.ocf, "OCF_ACTION", None)


def validate(params: Mapping[str, Value], depth: int) -> None:
    reg = from_record("validate", record_of(params))
    try:
        options = options_of(reg.check.kind, reg.check.option_map)     # typed, cheap
        # build_checker imports the check module (asyncio): not on the recurring monitor's
        # path.
        if depth >= 10 or _action() != "monitor":
            build_checker(reg.check.kind, reg.target, options)
    except CheckConfigError as exc:
        raise ConfigError(str(exc)) from None
    if depth < 10:
        return
    import shlex
    import shutil

    from lvsocf.agents import kernel

    if isinstance(options, ExternalOptions):
        program = shlex.split(options.external_command)[0]
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


def _proc_service_entry(key: ServiceKey, ident: tuple[str, int]):
    """(the service's /proc entry or None, its real server `ident`'s or None)."""
    from lvsocf.ipvs import proc

    service = next((s for s in proc.read_services() or () if s.matches(key)), None)
    if service is None:
        return None, None
    return service, next((r for r in service.real_servers
                          if (r.address, r.port) == ident), None)


def _record(ctx: Context) -> RealServerRecord | None:
    """What start recorded, None if nothing; OcfError when the record is unreadable."""
    data = state.read(RECORD, ctx.instance)
    try:
        return None if data is None else RealServerRecord.from_json(data)
    except RecordError:
        raise OcfError(f"the state record of {ctx.instance} is unreadable: "
                       f"{state.state_dir()}/{RECORD}") from None


def _registration(ctx: Context) -> Registration | None:
    record = _record(ctx)
    return None if record is None else from_record(ctx.instance, record)


def _health(ctx: Context) -> HealthRecord | None:
    return HealthRecord.read(ctx.instance)


def _register(ctx: Context, record: RealServerRecord, what: str,
              acked: Callable[[HealthRecord], bool]) -> HealthRecord | None:
    """Write the record, make sure the engine runs, and wait until the health record
    echoes this version of it and `acked` holds."""
    wanted = digest(record.to_json())
    record.write(ctx.instance)
    budget = _budget(ctx)

    def done() -> bool:
        h = _health(ctx)
        return h is not None and h.registration == wanted and acked(h)
    try:
        client.ensure_running(budget)
        client.notify()
        client.wait_until(done, budget)
    except client.EngineError as exc:
        raise OcfError(f"{what}: {exc}") from None
    return _health(ctx)


def _verdict_or_entry(h: HealthRecord) -> bool:
    return h.weight is not None or bool(h.error) or h.state != "unknown"


# ---- actions ----------------------------------------------------------------------------

def start(ctx: Context) -> int:
    record = record_of(ctx.params)
    reg = from_record(ctx.instance, record)
    service, _entry = _proc_service_entry(reg.key, reg.server.ident)
    if service is None:
        raise OcfError(f"service {reg.key} does not exist: start its IPVSService first "
                       "(order it before the real servers)")
    health = _register(ctx, record, f"cannot register {reg.server}", _verdict_or_entry)
    engine_watch.started(ctx)
    _service, entry = _proc_service_entry(reg.key, reg.server.ident)
    if entry is None:
        state.remove(RECORD, ctx.instance)
        client.notify()
        reason = (health and health.error) or "the check engine did not add it"
        raise OcfError(f"real server {reg.server} of {reg.key} not added: {reason}")
    ctx.logger.info("real server %s of %s registered (%s check, weight %d until the first "
                    "verdict)", reg.server, reg.key, reg.check.kind, entry.weight)
    return OCF_SUCCESS


def reload_agent(ctx: Context) -> int:
    old = _registration(ctx)
    if old is None:
        return OCF_NOT_RUNNING
    record = record_of(ctx.params)
    new = from_record(ctx.instance, record)
    if new.ident != old.ident:
        raise ConfigError("the real server's identity (service, rip, rport) cannot change "
                          "with reload-agent")
    _register(ctx, record, f"cannot reconfigure {new.server}", _verdict_or_entry)
    ctx.logger.info("real server %s of %s reconfigured", new.server, new.key)
    return OCF_SUCCESS


def stop(ctx: Context) -> int:
    """Drain and remove, done by the engine (the only writer of real-server entries): write
    the record again with a drain deadline and wait until the engine has removed the entry
    and then the record. Idempotent: a second stop finds no record and no entry."""
    began = time.monotonic()
    # Pacemaker runs stop with the *new* parameters after a change: undo what start recorded.
    try:
        record = stored = _record(ctx)
    except OcfError:
        record = stored = None
    if record is None:
        if ctx.config_error is not None:
            return OCF_SUCCESS      # unusable parameters and no record: nothing was started
        record = record_of(ctx.params)
    elif record.draining is None and engine_watch.recovery_stop(ctx):
        return OCF_SUCCESS          # Pacemaker's recovery from a hung engine: start follows
    service, entry = _proc_service_entry(record.key, record.server.ident)
    if entry is None and (service is None or stored is None or client.running_pid() is None):
        _forget(ctx, _budget(ctx))      # nothing to drain, and no engine will add it
        return OCF_SUCCESS
    budget = _budget(ctx)
    if record.draining is None:     # a stop already under way keeps its deadline
        drain = ctx.params.get("drain_timeout")
        drain = record.drain_timeout if drain is None else float(drain)
        # leave the engine time to remove the entry within this stop's timeout
        drain = min(drain, max(0.0, budget - (time.monotonic() - began) - 5.0))
        record = replace(record, draining=time.time() + drain)
        if entry is not None:
            ctx.logger.info("draining %s of %s for up to %gs", record.server, record.key,
                            drain)
    record.write(ctx.instance)
    try:
        client.ensure_running(budget)
        client.notify()
        client.wait_until(lambda: state.read(RECORD, ctx.instance) is None,
                          max(1.0, budget - (time.monotonic() - began) - LAST_RESORT))
    except client.EngineError as exc:
        _remove_without_engine(ctx, record, exc)
    state.remove(HEALTH, ctx.instance)
    _service, entry = _proc_service_entry(record.key, record.server.ident)
    if entry is not None:
        raise OcfError(f"real server {record.server} of {record.key} is still in the kernel")
    ctx.logger.info("removed real server %s of %s", record.server, record.key)
    return OCF_SUCCESS


# seconds of stop's timeout kept for removing the entry here when the engine cannot
LAST_RESORT = 3.0


def _remove_without_engine(ctx: Context, record: RealServerRecord, why: Exception) -> None:
    """The last resort when the engine cannot run or answer within stop's timeout: remove
    the kernel entry here, without draining, rather than fail the stop (which would get the
    director fenced). The engine, once back, finds no record and leaves the entry alone."""
    from lvsocf.ipvs.errors import IpvsError
    from lvsocf.ipvs.netlink import Ipvs

    ctx.logger.warning("the engine cannot remove real server %s of %s (%s): removing it "
                       "directly, without draining", record.server, record.key, why)
    try:
        with Ipvs() as ipvs:
            ipvs.delete_real_server(record.key, record.server.address, record.server.port)
    except IpvsError as exc:
        if _proc_service_entry(record.key, record.server.ident)[1] is not None:
            raise OcfError(f"cannot remove real server {record.server} of {record.key}: "
                           f"{why}; directly: {exc}") from None
    state.remove(RECORD, ctx.instance)


def _forget(ctx: Context, budget: float) -> None:
    """Deregister a real server that has no entry: remove the record; a running engine
    lets go of it (and removes its health record)."""
    state.remove(RECORD, ctx.instance)
    if client.notify():
        try:
            client.wait_until(lambda: _health(ctx) is None, min(10.0, budget / 3),
                              restart=False)
        except client.EngineError as exc:
            ctx.logger.warning("%s", exc)
    state.remove(HEALTH, ctx.instance)


def monitor(ctx: Context) -> int:
    if ctx.config_error is not None:
        return OCF_NOT_RUNNING
    reg = _registration(ctx)
    if reg is None:
        return OCF_NOT_RUNNING
    pid = client.running_pid()
    if pid is None:
        try:
            pid = client.ensure_running(_budget(ctx))
        except client.EngineError as exc:
            raise OcfError(f"the check engine is gone and cannot be restarted: {exc}") \
                from None
        ctx.logger.warning("the check engine was not running: restarted it (pid %d)", pid)
    else:
        engine_watch.check(ctx, pid)    # a hung engine: a failure, never a down backend
    health = _health(ctx)
    current = health is not None and health.registration == reg.digest
    service, entry = _proc_service_entry(reg.key, reg.server.ident)
    down = current and health.down
    detail = (health.detail if health else None) or ""
    if entry is None:
        if service is not None and down and reg.failure_action == "remove":
            ctx.exit_reason(f"{reg.server} is down and removed: {detail}")
            return OCF_DEGRADED
        return OCF_NOT_RUNNING
    if down:
        ctx.exit_reason(f"{reg.server} is down (weight {entry.weight}): {detail}")
        return OCF_DEGRADED
    if current and health.state == "up" and not ctx.probe:
        _ticket(ctx, reg, service.line, entry.token)
    return OCF_SUCCESS


def _ticket(ctx: Context, reg: Registration, header: str, entry: str) -> None:
    """What the next recurring monitors compare, in bash (lvsocf.agents.fastpath)."""
    from lvsocf.engine import files, watchdog
    from lvsocf.ipvs import proc

    written = fastpath.write(ctx.instance, (p.name for p in PARAMETERS), {
        "proc": str(proc.PROC_SERVICES), "header": header, "entry": entry,
        "digest": reg.digest, "record": str(state.path_of(RECORD, ctx.instance)),
        "health": str(state.path_of(HEALTH, ctx.instance)),
        "pidfile": str(files.path(files.PID)), "status": str(state.path_of("engine", "status")),
        "intervals": str(watchdog.INTERVALS), "floor": str(int(watchdog.FLOOR))})
    if not written:
        ctx.logger.debug("no monitor ticket for %s: the bash fast path stays off", ctx.instance)


AGENT = Agent(
    "IPVSRealServer", "One health-checked real server of an IPVS service",
    """Manages one real server of an IPVS virtual service (made by ocf:lvsocf:IPVSService):
    its address, port, forwarding method, weight and thresholds, and its health check.
    The checks of every real server on a node run in one check engine process (started on
    demand, restarted by monitor if it dies, changing no weight when it does): a healthy real
    server has its configured weight, a failed one weight 0 (failure_action=quiescent) or no
    entry (remove); when no real server of the service has weight, the service's fallback
    server goes in. monitor returns 190 (degraded) while the real server is down, and 1
    (error, "the check engine ... is hung") when the engine runs but its check cycle is stale
    (3 check intervals, at least 30 s): Pacemaker's recovery (stop, start) then restarts the
    engine and keeps every weight as it is.
    stop is a graceful drain: weight 0, then removal once its connections have ended or
    drain_timeout has passed. Health is published in /run/lvsocf/health and, under Pacemaker,
    as private node attributes lvsocf-INSTANCE (attrd_updater -Q -A -n lvsocf-INSTANCE; never
    written to the CIB).""",
    parameters=PARAMETERS, actions=ACTIONS,
    handlers={"start": start, "stop": stop, "monitor": monitor, "reload-agent": reload_agent},
    validate=validate, monitor_tickets=True,
)


def main() -> None:
    run(AGENT)
