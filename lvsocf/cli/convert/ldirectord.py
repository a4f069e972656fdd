"""ldirectord.cf -> neutral model with agent parameters: the syntax read by ldirectord_syntax,
then ldirectord's semantics (ld_setup, _check_real)."""

from __future__ import annotations

import ipaddress
import re
import shlex
from urllib.parse import urlsplit

from .diag import Diagnostics
from .ldirectord_syntax import LdFile, LdReal, LdVirtual, read, unquote
from .mapping import (
    HTTP_STATUS_DEFAULT,
    LD_CHECKTYPES,
    LD_DEFAULTS,
    LD_NOT_CARRIED,
    LD_PORT_SERVICE,
    LD_QUIESCENT,
    LD_SERVICE_CHECK,
    LD_SERVICE_PORT,
    LD_SERVICES,
    RISE,
    SCHED_FLAGS,
)
from .model import Config, RealServer, VirtualService
from .values import host_port, ip_family, is_netmask, parse_int, split_command

_POSITIVE = ("checktimeout", "negotiatetimeout", "checkinterval", "failurecount")


def build(ld: LdFile, diags: Diagnostics) -> Config:
    glob = {k: _positive(n, k, val, diags) for k, (n, val) in ld.globals.items() if k in _POSITIVE}
    quiescent = _yes_no(ld.globals.get("quiescent"), "quiescent", diags) or LD_DEFAULTS["quiescent"]
    config = Config(source_format="ldirectord")
    seen: dict[tuple[object, ...], int] = {}
    for v in ld.virtuals:
        svc = _service(v, ld, glob, quiescent, diags)
        if svc.key() in seen:
            first = seen[svc.key()]
            diags.error(v.line, f"duplicate virtual service (first defined at line {first})")
        seen[svc.key()] = v.line
        config.services.append(svc)
    return config


def _positive(n: int, key: str, value: str, diags: Diagnostics) -> int:
    number = parse_int(value, 1, 86400 * 365)
    if number is None:
        diags.error(n, f"invalid {key} {value[:20]!r}: a positive integer is required")
    return number


def _yes_no(entry: tuple[int, str] | None, key: str, diags: Diagnostics) -> str | None:
    if entry is None:
        return None
    n, value = entry
    if value not in ("yes", "no"):
        diags.error(n, f"{key} must be 'yes' or 'no'")
    return value


class _Ctx:
    """One virtual= section with its directives validated and defaults resolved."""

    def __init__(self, v: LdVirtual, glob: dict[str, int], quiescent: str, diags: Diagnostics):
        self.v, self.diags = v, diags
        d = v.directives
        self.line = {k: n for k, (n, _) in d.items()}
        self.raw = {k: val for k, (_, val) in d.items()}
        vals = {k: _positive(d[k][0], k, d[k][1], diags) for k in _POSITIVE if k in d}
        # ld_setup: checktimeout and negotiatetimeout are mutual defaults
        self.checktimeout = _first(vals.get("checktimeout"), vals.get("negotiatetimeout"),
                                   glob.get("checktimeout"), glob.get("negotiatetimeout"),
                                   LD_DEFAULTS["checktimeout"])
        self.negotiatetimeout = _first(vals.get("negotiatetimeout"), vals.get("checktimeout"),
                                       glob.get("negotiatetimeout"), glob.get("checktimeout"),
                                       LD_DEFAULTS["negotiatetimeout"])
        self.interval = _first(vals.get("checkinterval"), glob.get("checkinterval"),
                               LD_DEFAULTS["checkinterval"])
        self.fall = _first(vals.get("failurecount"), glob.get("failurecount"),
                           LD_DEFAULTS["failurecount"])
        self.quiescent = _yes_no(d.get("quiescent"), "quiescent", diags) or quiescent
        self.protocol = self._protocol()
        self.checktype, self.combined = self._checktype()
        self.service = self._service()
        self.request = unquote(self.raw["request"]) if "request" in d else None
        self.receive = unquote(self.raw["receive"]) if "receive" in d else None
        self.virtualhost = unquote(self.raw["virtualhost"]) if "virtualhost" in d else None
        method = unquote(self.raw.get("httpmethod", LD_DEFAULTS["httpmethod"])).upper()
        if method not in ("GET", "HEAD"):
            diags.error(self.line["httpmethod"], "httpmethod must be GET or HEAD")
        self.httpmethod = method
        self.checkport = None
        if "checkport" in d:
            self.checkport = parse_int(self.raw["checkport"], 1, 65535)
            if self.checkport is None:
                diags.error(self.line["checkport"], "checkport must be in range 1..65535")

    def at(self, key: str) -> int:
        return self.line.get(key, self.v.line)

    def _protocol(self) -> str:
        v = self.v
        default = "fwm" if v.fwmark is not None else ("udp" if v.port == 53 else "tcp")
        if "protocol" not in self.raw:
            return default
        value = self.raw["protocol"]
        if v.fwmark is not None and value != "fwm":
            self.diags.error(self.at("protocol"), "protocol must be fwm for a fwmark service")
        if v.fwmark is None and value not in ("tcp", "udp"):
            self.diags.error(self.at("protocol"), "protocol must be tcp or udp for an address:port "
                                                  "service")
        return value

    def _checktype(self) -> tuple[str, int]:
        value = self.raw.get("checktype", "negotiate")
        if value.isascii() and value.isdigit():
            return "negotiate", int(value[:9])
        if value not in LD_CHECKTYPES:
            self.diags.error(self.at("checktype"), "checktype must be connect, negotiate, on, "
                                                   "off, ping, external, external-perl or a "
                                                   "positive number")
        return value, 0

    def _service(self) -> str:
        if "service" in self.raw:
            value = self.raw["service"]
            if value not in LD_SERVICES:
                self.diags.error(self.at("service"), f"unknown service={value[:30]}")
            return value
        if self.v.fwmark is not None:
            return "none"
        return LD_PORT_SERVICE.get(self.v.port or 0, "none")


def _first(*values: int | None) -> int:
    return next(v for v in values if v is not None)


def _service(v: LdVirtual, ld: LdFile, glob: dict[str, int], quiescent: str,
             diags: Diagnostics) -> VirtualService:
    ctx = _Ctx(v, glob, quiescent, diags)
    svc = VirtualService(line=v.line, family=v.family, address=v.address, port=v.port,
                         fwmark=v.fwmark, comments=list(v.comments))
    svc.protocol = None if v.fwmark is not None else ctx.protocol
    _service_params(ctx, svc, ld)
    for key, (n, _) in v.directives.items():
        if key in LD_NOT_CARRIED:
            diags.warn(n, f"{key}= not carried over: {LD_NOT_CARRIED[key]}")
        elif key not in _HANDLED:
            diags.warn(n, f"unknown directive {key}= ignored")
    seen: dict[tuple[str, int | None], int] = {}
    for real in v.reals:
        rs = _real(ctx, svc, real)
        key = (rs.address, rs.params.get("rport"))
        if key in seen:
            diags.warn(real.line, f"duplicate real server {rs.address} (line {seen[key]}) skipped")
            continue
        seen[key] = real.line
        svc.reals.append(rs)
    if not svc.reals:
        diags.warn(v.line, "virtual service without real servers")
    return svc


_HANDLED = {
    "checktimeout", "negotiatetimeout", "checkinterval", "failurecount", "quiescent",
    "protocol", "checktype", "service", "request", "receive", "virtualhost", "httpmethod",
    "checkport", "checkcommand", "scheduler", "schedflags", "persistent", "netmask", "ops",
}


def _service_params(ctx: _Ctx, svc: VirtualService, ld: LdFile) -> None:
    diags, raw, p = ctx.diags, ctx.raw, svc.params
    scheduler = raw.get("scheduler", LD_DEFAULTS["scheduler"])
    if not re.fullmatch(r"[a-z]+", scheduler):
        diags.error(ctx.at("scheduler"), "invalid scheduler, should be only lowercase letters")
    p["scheduler"] = scheduler
    if "schedflags" in raw:
        flags = [f for f in re.split(r"[,\s]+", raw["schedflags"]) if f]
        for bad in [f for f in flags if f not in SCHED_FLAGS]:
            diags.warn(ctx.at("schedflags"), f"unknown scheduler flag {bad!r} dropped")
        if good := [f for f in flags if f in SCHED_FLAGS]:
            p["sched_flags"] = ",".join(good)
    persistent = 0
    if "persistent" in raw:
        persistent = parse_int(raw["persistent"], 0, 2**31 - 1)
        if persistent is None:
            diags.error(ctx.at("persistent"), "invalid persistent timeout")
        if persistent:
            p["persistent"] = str(persistent)
    if "netmask" in raw:
        netmask = raw["netmask"]
        if not is_netmask(netmask, svc.family):
            want = "a prefix length 1-128" if svc.family == "inet6" else "a dotted quad netmask"
            diags.error(ctx.at("netmask"), f"invalid netmask: {want} is required")
        if persistent:
            p["netmask"] = netmask
        else:
            diags.warn(ctx.at("netmask"), "netmask= without persistent= has no effect; dropped")
    if "ops" in raw:
        if raw["ops"] not in ("yes", "no"):
            diags.error(ctx.at("ops"), "ops must be 'yes' or 'no'")
        if raw["ops"] == "yes" and ctx.protocol == "udp":
            p["ops"] = "true"
        elif raw["ops"] == "yes":
            diags.warn(ctx.at("ops"), "ops=yes only applies to udp services; dropped")
    fallback = ctx.v.fallback
    if fallback is None and ctx.protocol in ("tcp", "udp"):
        fallback = ld.fallbacks.get(svc.family)
    if fallback is not None:
        p["fallback"] = host_port(fallback.address, fallback.port)
        p["fallback_method"] = fallback.method


def _real(ctx: _Ctx, svc: VirtualService, real: LdReal) -> RealServer:
    rs = RealServer(address=real.address, port=real.port, line=real.line)
    p = rs.params
    p["method"] = real.method
    probe_port = None
    if real.port is not None:
        if real.method == "masq":
            p["rport"] = str(real.port)
        elif real.port != svc.port:
            probe_port = real.port
            if svc.port is not None:
                ctx.diags.warn(real.line, f"port {real.port} of a {real.method} real server is "
                                          f"ignored by IPVS (it uses port {svc.port}); kept only "
                                          "as the check port")
    p["weight"] = str(real.weight)
    if real.u_threshold is not None:
        p["u_threshold"] = str(real.u_threshold)
    if real.l_threshold is not None:
        p["l_threshold"] = str(real.l_threshold)
    p.update(_check(ctx, svc, real, probe_port))
    p["failure_action"] = LD_QUIESCENT[ctx.quiescent]
    return rs


def _check(ctx: _Ctx, svc: VirtualService, real: LdReal, probe_port: int | None) -> dict[str, str]:
    diags, ctype = ctx.diags, ctx.checktype
    timeout = ctx.checktimeout
    if ctx.combined:
        diags.warn(ctx.at("checktype"), f"checktype={ctx.combined} (connect checks between "
                                        "negotiate checks) converted to a negotiate check")
    if ctype == "negotiate":
        timeout = ctx.negotiatetimeout
        check = LD_SERVICE_CHECK.get(ctx.service)
        if check is None:
            check = "ping" if ctx.protocol == "udp" else "tcp"
            diags.warn(ctx.at("service"), f"service={ctx.service} has no lvsocf check: using a "
                                          f"{'ping' if check == 'ping' else 'TCP connect'} check")
    elif ctype == "connect":
        check = "ping" if ctx.protocol == "udp" else "tcp"  # ldirectord pings udp services
    elif ctype in ("ping", "external"):
        check = ctype
    elif ctype == "external-perl":
        check = "external"
        diags.warn(ctx.at("checktype"), "checktype=external-perl: the script is run as an "
                                        "external command (perl SCRIPT vip port rip rport)")
    else:
        if ctype == "off":
            diags.warn(ctx.at("checktype"), "checktype=off: ldirectord never activates these real "
                                            "servers; converted as always up (check_type=none)")
        return {"check_type": "none"}
    if check == "none":
        return {"check_type": "none"}
    out = {"check_type": check}
    port = ctx.checkport or probe_port
    if port is None and real.port is None and svc.fwmark is not None and check != "ping":
        port = LD_SERVICE_PORT.get(ctx.service)
        if port is None and check != "external":
            diags.warn(real.line, "real server of a fwmark service without a port: set "
                                  "check_port by hand")
    if port is not None and check not in ("ping", "external"):
        out["check_port"] = str(port)
    out["check_interval"] = str(ctx.interval)
    out["check_timeout"] = str(timeout)
    out["rise"] = RISE
    out["fall"] = str(ctx.fall)
    request = real.request if real.request is not None else ctx.request
    receive = real.receive if real.receive is not None else ctx.receive
    if check in ("http", "https"):
        out.update(_http(ctx, check, request, receive, real))
    elif check == "dns":
        out.update(_dns(request, receive))
    elif check == "external":
        out["external_command"] = _external(ctx, svc, real)
    if real.request is not None and check not in ("http", "https", "dns"):
        diags.warn(real.line, f'per-real "request", "receive" not used by a {check} check')
    return out


def _http(ctx: _Ctx, check: str, request: str | None, receive: str | None,
          real: LdReal) -> dict[str, str]:
    out = {"http_method": ctx.httpmethod}
    path = request or "/"
    if re.match(r"(?i)https?://", path):
        parts = urlsplit(path)
        ctx.diags.warn(real.line if real.request else ctx.at("request"),
                       f"absolute request URL {path[:60]}: only its path is checked, on the "
                       "real server")
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
    out["request"] = path if path.startswith("/") else "/" + path
    if ctx.virtualhost:
        out["virtualhost"] = ctx.virtualhost
    out["status_codes"] = HTTP_STATUS_DEFAULT
    if receive:
        out["receive"] = receive
    if check == "https":
        out["tls_verify"] = "false"  # ldirectord does not verify certificates
    return out


def _dns(request: str | None, receive: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if request:
        query = request.lstrip("/")
        if ip_family(query):
            out["dns_query"] = ipaddress.ip_address(query).reverse_pointer
            out["dns_type"] = "PTR"
        else:
            out["dns_query"] = query
            out["dns_type"] = "A"
    if receive:
        out["receive"] = receive
    return out


def _external(ctx: _Ctx, svc: VirtualService, real: LdReal) -> str:
    command = unquote(ctx.raw.get("checkcommand", "/bin/true"))
    words = split_command(command) or ["/bin/true"]
    if ctx.checktype == "external-perl":
        words = ["perl", *words]
    vip = str(svc.fwmark) if svc.fwmark is not None else (svc.address or "")
    vport = str(svc.port or 0)
    rport = str(real.port if real.port is not None else (svc.port or 0))
    return shlex.join([*words, vip, vport, real.address, rport])


def parse(text: str, diags: Diagnostics) -> Config:
    return build(read(text, diags), diags)
