"""keepalived checker blocks (TCP_CHECK, HTTP_GET, ...) -> IPVSRealServer check parameters."""

from __future__ import annotations

import shlex

from .diag import Diagnostics
from .keepalived_lexer import Node
from .mapping import (
    HTTP_STATUS_DEFAULT,
    KA_ALIASES,
    KA_CHECKERS,
    KA_DEFAULTS,
    KA_DNS_TYPES,
    KA_INHERITED,
    KA_NOT_CARRIED,
    KA_RETRY_DEFAULT,
    KA_RETRY_DEFAULT_OTHER,
    RISE,
)
from .values import ip_family, keepalived_hex, parse_int, parse_timer, split_command

Inherited = dict[str, tuple[int, list[str]]]
_TRUE = {"yes", "true", "on", "1"}
_FALSE = {"no", "false", "off", "0"}


def parse_bool(diags: Diagnostics, line: int, args: list[str]) -> bool:
    if not args:
        return True
    if args[0].lower() in _TRUE:
        return True
    if args[0].lower() in _FALSE:
        return False
    diags.error(line, f"expected yes/no, got {args[0][:20]!r}")


def _timer(diags: Diagnostics, key: str, entry: tuple[int, list[str]]) -> str:
    line, args = entry
    value = parse_timer(args[0]) if len(args) == 1 else None
    if value is None:
        diags.error(line, f"{key} needs one positive number of seconds")
    return value


def check_params(diags: Diagnostics, checkers: list[Node], inherit: Inherited,
                 probe_port: int | None, port_known: bool) -> dict[str, str]:
    """Check parameters for one real server from its checker blocks."""
    if not checkers:
        return {"check_type": "none"}  # keepalived keeps unchecked real servers up
    first, extra = checkers[0], checkers[1:]
    for node in extra:
        diags.warn(node.line, f"additional checker {node.keyword} not converted: lvsocf runs one "
                              "check per real server")
    reader = _CheckerReader(diags, first, dict(inherit))
    out = reader.read()
    if "check_port" not in out and probe_port is not None and out["check_type"] != "ping":
        out["check_port"] = str(probe_port)
    needs_port = out["check_type"] in ("tcp", "http", "https", "udp")
    if needs_port and "check_port" not in out and not port_known:
        diags.warn(first.line, "real server without a port and no connect_port: set check_port "
                               "by hand")
    return out


class _CheckerReader:
    def __init__(self, diags: Diagnostics, node: Node, opts: Inherited) -> None:
        self.diags, self.node, self.opts = diags, node, opts
        self.kind = node.keyword
        self.out: dict[str, str] = {}
        self.urls: list[Node] = []
        self.hosts: list[Node] = []

    def read(self) -> dict[str, str]:
        diags, kind = self.diags, self.kind
        ctype = KA_CHECKERS.get(kind)
        if ctype is None:
            what = "unknown checker" if kind not in KA_CHECKERS else "no lvsocf equivalent for"
            diags.warn(self.node.line, f"{what} {kind[:40]}: using a TCP connect check")
            ctype = "tcp"
        self.out["check_type"] = ctype
        for child in self.node.children or []:
            self._option(child)
        out, opts = self.out, self.opts
        if ctype != "ping":
            self._host_blocks()
        out["check_interval"] = _timer(diags, "delay_loop",
                                       opts.get("delay_loop", (0, [KA_DEFAULTS["delay_loop"]])))
        if "check_timeout" not in out:
            misc = kind == "MISC_CHECK"  # misc_timeout defaults to delay_loop
            default = out["check_interval"] if misc else KA_DEFAULTS["connect_timeout"]
            out["check_timeout"] = _timer(diags, "connect_timeout",
                                          opts.get("connect_timeout", (0, [default])))
        retry = KA_RETRY_DEFAULT.get(kind, KA_RETRY_DEFAULT_OTHER)
        if "retry" in opts:
            line, args = opts["retry"]
            value = parse_int(args[0], 0, 1000) if len(args) == 1 else None
            if value is None:
                diags.error(line, "retry needs a count 0-1000")
            retry = value
        out["rise"] = RISE
        out["fall"] = str(retry + 1)
        for key in ("delay_before_retry", "warmup"):
            if key in opts:
                diags.warn(opts[key][0], f"{key} not carried over: {KA_NOT_CARRIED[key]}")
        if ctype in ("http", "https"):
            self._http()
        if ctype == "external" and "external_command" not in out:
            diags.error(self.node.line, "MISC_CHECK without misc_path")
        return out

    def _one(self, child: Node) -> str:
        if len(child.args) != 1:
            self.diags.error(child.line, f"{child.keyword} takes one value")
        return child.args[0]

    def _option(self, child: Node) -> None:
        diags, kind, out = self.diags, self.kind, self.out
        key = KA_ALIASES.get(child.keyword, child.keyword)
        if key in KA_INHERITED:
            self.opts[key] = (child.line, child.args)
            if key == "alpha":
                diags.warn(child.line, f"alpha not carried over: {KA_NOT_CARRIED['alpha']}")
        elif key == "connect_ip":
            value = self._one(child)
            if ip_family(value) is None:
                diags.error(child.line, f"invalid connect_ip {value[:40]!r}")
            out["check_address"] = value
        elif key == "connect_port":
            value = self._one(child)
            if parse_int(value, 1, 65535) is None:
                diags.error(child.line, f"invalid connect_port {value[:20]!r}")
            out["check_port"] = str(int(value))
        elif key == "url" and kind in ("HTTP_GET", "SSL_GET"):
            self.urls.append(child)
        elif key == "host" and child.children is not None:
            self.hosts.append(child)
        elif key == "misc_path" and kind == "MISC_CHECK":
            words = split_command(" ".join(child.args))
            if not words:
                diags.error(child.line, "misc_path needs a command")
            out["external_command"] = shlex.join(words)
        elif key == "misc_timeout" and kind == "MISC_CHECK":
            out["check_timeout"] = _timer(diags, key, (child.line, child.args))
        elif key == "type" and kind == "DNS_CHECK":
            value = self._one(child).upper()
            if value not in KA_DNS_TYPES:
                diags.error(child.line, f"DNS_CHECK type must be one of {sorted(KA_DNS_TYPES)}")
            out["dns_type"] = value
        elif key == "name" and kind == "DNS_CHECK":
            out["dns_query"] = self._one(child)
        elif key in ("payload", "require_reply") and kind == "UDP_CHECK":
            self._udp(child)
        elif key in KA_NOT_CARRIED:
            diags.warn(child.line, f"{key} not carried over: {KA_NOT_CARRIED[key]}")
        else:
            diags.warn(child.line, f"{key[:40]} in {kind[:40]} not carried over")

    def _udp(self, child: Node) -> None:
        if child.keyword == "require_reply" and not child.args:
            self.diags.warn(child.line, "require_reply without data not carried over: set "
                                        "udp_expect to the expected reply (hex) by hand")
            return
        value = keepalived_hex(child.args)
        if value is None or not value:
            if child.keyword == "payload":
                self.diags.error(child.line, "payload must be hexadecimal")
            self.diags.warn(child.line, "require_reply with X wildcards not carried over")
            return
        self.out["udp_payload" if child.keyword == "payload" else "udp_expect"] = value

    def _host_blocks(self) -> None:
        for i, host in enumerate(self.hosts):
            if i:
                self.diags.warn(host.line, "only the first host { } of a checker is converted")
                continue
            for child in host.children or []:
                if child.keyword in ("connect_ip", "connect_port"):
                    self._option(child)
                elif child.keyword in KA_NOT_CARRIED:
                    self._option(child)
                else:
                    self.diags.warn(child.line, f"{child.keyword[:40]} in host not carried over")

    def _http(self) -> None:
        out, diags = self.out, self.diags
        out["http_method"] = "GET"
        if not self.urls:
            diags.error(self.node.line, f"{self.kind} without a url {{ }} block")
        vhost = self.opts.get("virtualhost")
        for extra in self.urls[1:]:
            diags.warn(extra.line, "only the first url { } of an HTTP check is converted")
        url = self.urls[0]
        codes: list[str] = []
        for child in url.children or []:
            key = child.keyword
            if key == "path":
                out["request"] = self._one(child)
            elif key == "status_code":
                codes.extend(self._codes(child))
            elif key == "digest":
                diags.warn(child.line, "digest (MD5 of the page) not carried over: use "
                                       "receive (a regex) or status_codes instead")
            elif key == "virtualhost":
                vhost = (child.line, child.args)
            elif key == "regex":
                out["receive"] = self._one(child)
            elif key in KA_NOT_CARRIED:
                diags.warn(child.line, f"{key} not carried over: {KA_NOT_CARRIED[key]}")
            else:
                diags.warn(child.line, f"{key[:40]} in url not carried over")
        out.setdefault("request", "/")
        if vhost is not None and vhost[1]:
            out["virtualhost"] = vhost[1][0]
        out["status_codes"] = ",".join(codes) if codes else HTTP_STATUS_DEFAULT
        if self.kind == "SSL_GET":
            out["tls_verify"] = "false"  # keepalived does not verify the server certificate

    def _codes(self, child: Node) -> list[str]:
        codes = []
        for word in child.args:
            lo, _, hi = word.partition("-")
            if parse_int(lo, 100, 599) is None or (hi and parse_int(hi, 100, 599) is None):
                self.diags.error(child.line, f"invalid status_code {word[:20]!r}")
            codes.append(word)
        if not codes:
            self.diags.error(child.line, "status_code needs at least one code or range")
        return codes
