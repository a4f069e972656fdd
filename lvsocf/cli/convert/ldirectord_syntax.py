"""Reader for ldirectord.cf syntax: lines, sections, real/fallback syntax -> LdFile (the
semantics, and parse(), are in ldirectord.py).

Follows ldirectord's `read_config`: `virtual=`/`virtual6=` start a section at column 0, the
section's directives are indented; every other column-0 line is a global directive. `#` starts
a comment (outside double quotes). Deviations, all more lenient: any indentation counts, a blank
line does not end a section, unknown directives are warnings instead of errors.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from .diag import Diagnostics
from .mapping import FORWARD_METHODS, LD_NOT_CARRIED, LD_VIRTUAL_ONLY
from .values import ip_family, parse_int, parse_port, source_lines

_DIRECTIVE_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(.*)$")
_VIRTUAL_RE = re.compile(r"^virtual(6)?\s*=\s*(.*)$")
_HOST = r"\d+\.\d+\.\d+\.\d+|\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*"
_PORT = r"\d+|[A-Za-z0-9_-]+"
_REAL_RE = re.compile(rf"^({_HOST})(?:->({_HOST}))?(?::({_PORT}))?(?:\s+(.*))?$")
_MAX_RANGE = 1024

GLOBAL_DIRECTIVES = {
    "checktimeout", "negotiatetimeout", "checkinterval", "failurecount", "fallback",
    "fallback6", "quiescent",
}


@dataclass
class LdReal:
    line: int
    address: str
    port: int | None
    method: str
    weight: int = 1
    request: str | None = None
    receive: str | None = None
    l_threshold: int | None = None
    u_threshold: int | None = None


@dataclass
class LdFallback:
    line: int
    address: str
    port: int | None
    method: str


@dataclass
class LdVirtual:
    line: int
    family: str
    address: str | None = None
    port: int | None = None
    fwmark: int | None = None
    directives: dict[str, tuple[int, str]] = field(default_factory=dict)
    reals: list[LdReal] = field(default_factory=list)
    fallback: LdFallback | None = None
    comments: list[str] = field(default_factory=list)


@dataclass
class LdFile:
    globals: dict[str, tuple[int, str]] = field(default_factory=dict)
    fallbacks: dict[str, LdFallback] = field(default_factory=dict)  # family -> fallback
    virtuals: list[LdVirtual] = field(default_factory=list)


def strip_comment(text: str) -> str:
    """Drop a `#` comment that is not inside double quotes."""
    quoted = False
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif ch == "#" and not quoted:
            return text[:i]
    return text


def unquote(value: str) -> str:
    m = re.match(r'^"(.*)"', value)
    return m.group(1) if m else value.strip()


def read(text: str, diags: Diagnostics) -> LdFile:
    ld = LdFile()
    current: LdVirtual | None = None
    for n, raw in enumerate(source_lines(text), 1):
        body = strip_comment(raw).rstrip()
        if not body.strip():
            continue
        if body[0] in " \t":
            if current is None:
                diags.error(n, "indented directive outside a virtual= section")
            _virtual_directive(current, n, body.strip(), diags)
            continue
        m = _VIRTUAL_RE.match(body)
        if m:
            current = _new_virtual(n, "inet6" if m.group(1) else "inet", m.group(2).strip(), diags)
            ld.virtuals.append(current)
            continue
        current = None
        _global_directive(ld, n, body, diags)
    return ld


def _split(n: int, text: str, diags: Diagnostics) -> tuple[str, str]:
    m = _DIRECTIVE_RE.match(text)
    if not m:
        if text == "supervised":
            return "supervised", "yes"
        diags.error(n, f"expected directive=value, got {text[:60]!r}")
    return m.group(1).lower(), m.group(2).strip()


def _global_directive(ld: LdFile, n: int, text: str, diags: Diagnostics) -> None:
    key, value = _split(n, text, diags)
    if key in LD_VIRTUAL_ONLY:
        diags.error(n, f"{key}= is only valid inside a virtual= section (indent it)")
    if key in ("fallback", "fallback6"):
        family = "inet6" if key == "fallback6" else "inet"
        ld.fallbacks[family] = parse_fallback(n, value, family, None, diags)
    elif key in GLOBAL_DIRECTIVES:
        ld.globals[key] = (n, value)
    elif key in LD_NOT_CARRIED:
        diags.warn(n, f"{key}= not carried over: {LD_NOT_CARRIED[key]}")
    elif key.startswith("virtual"):
        diags.error(n, f"invalid virtual service line {text[:60]!r}")
    else:
        diags.warn(n, f"unknown directive {key}= ignored")


def _new_virtual(n: int, family: str, value: str, diags: Diagnostics) -> LdVirtual:
    v = LdVirtual(line=n, family=family)
    if re.fullmatch(r"\d+", value):
        fwmark = parse_int(value, 1, 0xFFFFFFFF)
        if fwmark is None:
            diags.error(n, f"fwmark {value[:20]} out of range 1-4294967295")
        v.fwmark = fwmark
        return v
    m = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\S+)", value)
    if m:
        if family == "inet":
            diags.error(n, 'cannot specify an IPv6 address here, use "virtual6"')
        address, port_text = m.group(1), m.group(2)
    else:
        m = re.fullmatch(r"([0-9A-Za-z._+-]+):(\S+)", value)
        if not m:
            diags.error(n, f"invalid virtual service {value[:60]!r}: want ip:port, "
                           "[ipv6]:port or a fwmark number")
        address, port_text = m.group(1), m.group(2)
    v.address = _check_host(n, address, family, "virtual service", diags)
    port = parse_port(port_text)
    if port is None:
        diags.error(n, f"invalid port {port_text!r} for virtual service")
    v.port = port
    return v


def _check_host(n: int, address: str, family: str, what: str, diags: Diagnostics) -> str:
    fam = ip_family(address)
    if fam is None:
        if re.fullmatch(r"[\d.]+", address) or ":" in address:
            diags.error(n, f"invalid address {address!r} for {what}")
        diags.warn(n, f"{what} {address!r} is a host name: the agents need an IP address, "
                      "replace it")
        return address
    if fam != family:
        hint = "virtual6/real6/fallback6" if fam == "inet6" else "virtual/real/fallback"
        diags.error(n, f"{what} address {address} is not {family} (use {hint})")
    return str(ipaddress.ip_address(address))


def _virtual_directive(v: LdVirtual, n: int, text: str, diags: Diagnostics) -> None:
    key, value = _split(n, text, diags)
    if key in ("real", "real6"):
        want = "real6" if v.family == "inet6" else "real"
        if key != want:
            diags.error(n, f'cannot specify "{key}" here, use "{want}"')
        v.reals.extend(parse_real(n, value, v.family, diags))
    elif key in ("fallback", "fallback6"):
        want = "fallback6" if v.family == "inet6" else "fallback"
        if key != want:
            diags.error(n, f'cannot specify "{key}" here, use "{want}"')
        v.fallback = parse_fallback(n, value, v.family, v.port, diags)
    elif key in ("servicename", "comment"):
        v.comments.append(f"{key}: {unquote(value)}")
    else:
        v.directives[key] = (n, value)


def parse_real(n: int, value: str, family: str, diags: Diagnostics) -> list[LdReal]:
    m = _REAL_RE.match(value)
    if not m:
        diags.error(n, f"invalid real server {value[:60]!r} (want ip[->ip][:port] gate|masq|ipip)")
    first, last, port_text, flags = m.groups()
    port = None
    if port_text is not None:
        port = parse_port(port_text)
        if port is None:
            diags.error(n, f"invalid port {port_text!r} for real server")
    proto = _parse_real_flags(n, flags or "", diags)
    first = first.strip("[]")
    if last is None:
        return [LdReal(n, _check_host(n, first, family, "real server", diags), port, **proto)]
    last = last.strip("[]")
    if family == "inet6":
        diags.error(n, "address ranges are not supported for IPv6 real servers")
    if ip_family(first) != "inet" or ip_family(last) != "inet":
        diags.warn(n, f"real server range {first}->{last} of host names cannot be expanded "
                      "offline: add those real servers by hand")
        return []
    lo, hi = int(ipaddress.IPv4Address(first)), int(ipaddress.IPv4Address(last))
    if lo > hi:
        diags.error(n, f"invalid range {first}->{last}: first address is greater than last")
    if hi - lo >= _MAX_RANGE:
        diags.error(n, f"range {first}->{last} has more than {_MAX_RANGE} addresses")
    return [LdReal(n, str(ipaddress.IPv4Address(i)), port, **proto) for i in range(lo, hi + 1)]


def _parse_real_flags(n: int, flags: str, diags: Diagnostics) -> dict:
    m = re.match(r"(\w+)(.*)$", flags)
    if not m or m.group(1) not in FORWARD_METHODS:
        diags.error(n, "forward method must be gate, masq or ipip")
    out: dict = {"method": m.group(1)}
    rest = m.group(2)
    if mm := re.match(r"\s+(\d+)(.*)$", rest):
        out["weight"] = _number(n, mm.group(1), 0, 65535, "real server weight", diags)
        rest = mm.group(2)
    if mm := re.match(r'\s+"(.*)"[, ]\s*"(.*)"(.*)$', rest):  # greedy, as ldirectord
        out["request"], out["receive"] = mm.group(1), mm.group(2)
        rest = mm.group(3)
    if mm := re.match(r"\s+l:(\d+)(.*)$", rest):
        out["l_threshold"] = _number(n, mm.group(1), 0, 2**31 - 1, "l: threshold", diags)
        rest = mm.group(2)
    if mm := re.match(r"\s+u:(\d+)(.*)$", rest):
        out["u_threshold"] = _number(n, mm.group(1), 0, 2**31 - 1, "u: threshold", diags)
        rest = mm.group(2)
    if rest.strip():
        diags.error(n, f"invalid real server line, around {rest.strip()[:40]!r}")
    return out


def _number(n: int, text: str, lo: int, hi: int, what: str, diags: Diagnostics) -> int:
    value = parse_int(text, lo, hi)
    if value is None:
        diags.error(n, f"{what} {text[:20]} out of range {lo}-{hi}")
    return value


def parse_fallback(n: int, value: str, family: str, vport: int | None,
                   diags: Diagnostics) -> LdFallback:
    m = re.fullmatch(r"(\S+)(?:\s+(\S+))?", value.strip())
    if not m:
        diags.error(n, f"invalid fallback server {value[:60]!r}")
    hostport, method = m.group(1), m.group(2) or "gate"
    if method not in FORWARD_METHODS:
        diags.error(n, "forward method must be gate, masq or ipip")
    port_text = None
    if hostport.startswith("["):
        mm = re.fullmatch(r"\[([^\]]+)\](?::(\S+))?", hostport)
        if not mm:
            diags.error(n, f"invalid fallback server {hostport[:60]!r}")
        host, port_text = mm.group(1), mm.group(2)
    elif hostport.count(":") == 1:
        host, port_text = hostport.split(":")
    else:
        host = hostport
    port = vport
    if port_text is not None:
        port = parse_port(port_text)
        if port is None:
            diags.error(n, f"invalid port {port_text!r} for fallback server")
    if not host:
        diags.error(n, "fallback server without address")
    return LdFallback(n, _check_host(n, host, family, "fallback server", diags), port, method)
