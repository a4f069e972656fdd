"""keepalived.conf (LVS part) -> neutral model.

Reads virtual_server and real_server blocks here, checkers in keepalived_checks, global_defs
and vrrp_instance in keepalived_globals. Options inherit virtual_server -> real_server ->
checker, as in keepalived.
"""

from __future__ import annotations

import ipaddress

from .diag import Diagnostics
from .keepalived_checks import check_params, parse_bool
from .keepalived_globals import GlobalsReader
from .keepalived_lexer import Node, parse_tree
from .mapping import (
    KA_ALIASES,
    KA_DEFAULTS,
    KA_INHERITED,
    KA_LVS_METHOD,
    KA_NOT_CARRIED,
    KA_NOT_LVS_BLOCKS,
    KA_PROTOCOL,
    SCHED_FLAGS,
)
from .model import Config, RealServer, VirtualService
from .values import host_port, ip_family, is_netmask, parse_int


class _Reader:
    def __init__(self, diags: Diagnostics) -> None:
        self.diags = diags
        self.globals = GlobalsReader(diags)

    def read(self, nodes: list[Node]) -> Config:
        config = Config(source_format="keepalived")
        for node in nodes:
            if node.keyword == "vrrp_instance":
                self.globals.vrrp(node)
        for node in nodes:
            if node.keyword == "global_defs":
                self.globals.global_defs(node)
        seen: dict[tuple[object, ...], int] = {}
        for node in nodes:
            if node.keyword == "virtual_server":
                svc = self._virtual(node)
                if svc is None:
                    continue
                if svc.key() in seen:
                    self.diags.error(node.line, "duplicate virtual_server (first defined at line "
                                                f"{seen[svc.key()]})")
                seen[svc.key()] = node.line
                config.services.append(svc)
            elif node.keyword in KA_NOT_LVS_BLOCKS:
                self.diags.warn(node.line, f"{node.keyword} not converted (not part of the LVS "
                                           "configuration)")
            elif node.keyword not in ("vrrp_instance", "global_defs", "virtual_server_group"):
                self.diags.warn(node.line, f"unknown top-level keyword {node.keyword[:40]} ignored")
        config.sync = self.globals.finish()
        return config

    # --- virtual servers -------------------------------------------------------------------
    def _virtual(self, node: Node) -> VirtualService | None:
        diags, args = self.diags, node.args
        if args and args[0] == "group":
            diags.warn(node.line, f"virtual_server group {' '.join(args[1:2])} not converted: "
                                  "write one virtual_server per address (or fwmark) instead")
            return None
        if node.children is None:
            diags.error(node.line, "virtual_server without a { ... } block")
        svc = VirtualService(line=node.line)
        if args and args[0] == "fwmark":
            svc.fwmark = parse_int(args[1], 1, 0xFFFFFFFF) if len(args) > 1 else None
            if svc.fwmark is None:
                diags.error(node.line, "virtual_server fwmark needs a mark 1-4294967295")
            svc.protocol = None
        else:
            family = ip_family(args[0]) if args else None
            if family is None:
                diags.error(node.line, "virtual_server needs an IP address and port, "
                                       "'fwmark N' or 'group NAME'")
            svc.family, svc.address = family, str(ipaddress.ip_address(args[0]))
            if len(args) < 2:
                diags.warn(node.line, "virtual_server without a port (persistent port 0 service) "
                                      "is not supported by IPVSService: skipped")
                return None
            svc.port = parse_int(args[1], 1, 65535)
            if svc.port is None:
                diags.error(node.line, f"invalid virtual_server port {args[1][:20]!r}")
            vip = self.globals.vips.get(svc.address)
            if vip is not None:
                svc.vip_cidr, svc.vip_nic = vip.prefix, vip.nic
        _VirtualReader(self.diags, svc).read(node)
        return svc


class _VirtualReader:
    def __init__(self, diags: Diagnostics, svc: VirtualService) -> None:
        self.diags, self.svc = diags, svc
        self.inherit: dict[str, tuple[int, list[str]]] = {}
        self.method = KA_LVS_METHOD[KA_DEFAULTS["lvs_method"]]
        self.flags: list[str] = []

    def read(self, node: Node) -> None:
        svc, diags = self.svc, self.diags
        p = svc.params
        p["scheduler"] = KA_DEFAULTS["lvs_sched"]
        reals: list[Node] = []
        sorry: Node | None = None
        sorry_method: str | None = None
        ip_fam: str | None = None
        for child in node.children or []:
            key, args = KA_ALIASES.get(child.keyword, child.keyword), child.args
            if key == "real_server":
                reals.append(child)
            elif key == "lvs_sched":
                p["scheduler"] = self._one(child).lower()
            elif key == "lvs_method":
                self.method = self.lvs_method(child)
            elif key == "protocol":
                proto = KA_PROTOCOL.get(self._one(child).upper())
                if proto is None:
                    diags.error(child.line, "protocol must be TCP, UDP or SCTP")
                if svc.fwmark is None:
                    svc.protocol = proto
            elif key == "persistence_timeout":
                value = args[0] if args else KA_DEFAULTS["persistence_timeout"]
                if parse_int(value, 0, 2**31 - 1) is None:
                    diags.error(child.line, f"invalid persistence_timeout {value[:20]!r}")
                p["persistent"] = str(int(value))
            elif key == "persistence_granularity":
                p["netmask"] = self._granularity(child)
            elif key == "persistence_engine":
                p["pe"] = self._one(child)
            elif key == "ops":
                p["ops"] = "true"
            elif key in SCHED_FLAGS:
                self.flags.append(key)
            elif key == "ip_family":
                ip_fam = self._one(child)
                if ip_fam not in ("inet", "inet6"):
                    diags.error(child.line, "ip_family must be inet or inet6")
            elif key == "sorry_server":
                sorry = child
            elif key == "sorry_server_lvs_method":
                sorry_method = self.lvs_method(child)
            elif key in KA_INHERITED:
                self.inherit[key] = (child.line, args)
                if key == "alpha":
                    diags.warn(child.line, f"alpha not carried over: {KA_NOT_CARRIED['alpha']}")
            elif key == "quorum" and args == ["1"]:
                pass
            elif key in KA_NOT_CARRIED:
                diags.warn(child.line, f"{key} not carried over: {KA_NOT_CARRIED[key]}")
            else:
                diags.warn(child.line, f"unknown virtual_server keyword {key[:40]} ignored")
        if self.flags:
            p["sched_flags"] = ",".join(dict.fromkeys(self.flags))
        if "ops" in p and svc.protocol != "udp":
            diags.warn(node.line, "ops only applies to UDP services; dropped")
            del p["ops"]
        if "netmask" in p and "persistent" not in p:
            diags.warn(node.line, "persistence_granularity without persistence_timeout; dropped")
            del p["netmask"]
        if svc.fwmark is not None:
            svc.family = ip_fam or self._fwmark_family(reals)
        if sorry is not None:
            self._sorry(sorry, sorry_method)
        seen: dict[tuple[str, str | None], int] = {}
        for child in reals:
            rs = self._real(child)
            key = (rs.address, rs.params.get("rport"))
            if key in seen:
                diags.warn(child.line, f"duplicate real_server {rs.address} (line {seen[key]}) "
                                       "skipped")
                continue
            seen[key] = child.line
            svc.reals.append(rs)
        if not svc.reals:
            diags.warn(node.line, "virtual_server without real servers")

    def _one(self, node: Node) -> str:
        if len(node.args) != 1:
            self.diags.error(node.line, f"{node.keyword} takes one value")
        return node.args[0]

    def lvs_method(self, node: Node) -> str:
        if not node.args or node.args[0].upper() not in KA_LVS_METHOD:
            self.diags.error(node.line, f"{node.keyword} must be NAT, DR or TUN")
        extra = node.args[1:]
        if extra and extra[:2] != ["type", "ipip"]:
            self.diags.warn(node.line, f"tunnel options {' '.join(extra)[:40]} not carried over "
                                       "(ipip tunnel)")
        return KA_LVS_METHOD[node.args[0].upper()]

    def _granularity(self, node: Node) -> str:
        value = self._one(node)
        if self.svc.family == "inet" and self.svc.fwmark is None and value.isdigit():
            bits = parse_int(value, 1, 32)
            if bits is not None:
                return str(ipaddress.IPv4Network(f"0.0.0.0/{bits}").netmask)
        if not (is_netmask(value, "inet") or is_netmask(value, "inet6")):
            self.diags.error(node.line, f"invalid persistence_granularity {value[:40]!r}")
        return value

    def _fwmark_family(self, reals: list[Node]) -> str:
        for child in reals:
            if child.args and ip_family(child.args[0]):
                return ip_family(child.args[0]) or "inet"
        return "inet"

    def _sorry(self, node: Node, method: str | None) -> None:
        args = node.args
        if not args or ip_family(args[0]) is None:
            self.diags.error(node.line, "sorry_server needs an IP address [port]")
        port = None
        if len(args) > 1:
            port = parse_int(args[1], 1, 65535)
            if port is None:
                self.diags.error(node.line, f"invalid sorry_server port {args[1][:20]!r}")
        self.svc.params["fallback"] = host_port(str(ipaddress.ip_address(args[0])), port)
        self.svc.params["fallback_method"] = method or self.method

    def _real(self, node: Node) -> RealServer:
        svc, diags, args = self.svc, self.diags, node.args
        family = ip_family(args[0]) if args else None
        if family is None:
            diags.error(node.line, "real_server needs an IP address [port]")
        port = None
        if len(args) > 1:
            port = parse_int(args[1], 1, 65535)
            if port is None:
                diags.error(node.line, f"invalid real_server port {args[1][:20]!r}")
        rs = RealServer(str(ipaddress.ip_address(args[0])), port, node.line)
        inherit = dict(self.inherit)
        method, weight, checkers, thresholds = self.method, "1", [], {}
        for child in node.children or []:
            key = KA_ALIASES.get(child.keyword, child.keyword)
            if key == "weight":
                weight = self._one(child)
                if parse_int(weight, 0, 65535) is None:
                    diags.error(child.line, f"invalid weight {weight[:20]!r} (0-65535)")
            elif key == "lvs_method":
                method = self.lvs_method(child)
            elif key in ("uthreshold", "lthreshold"):
                value = self._one(child)
                if parse_int(value, 0, 2**31 - 1) is None:
                    diags.error(child.line, f"invalid {key} {value[:20]!r}")
                thresholds[f"{key[0]}_threshold"] = value
            elif key in KA_INHERITED:
                inherit[key] = (child.line, child.args)
                if key == "alpha":
                    diags.warn(child.line, f"alpha not carried over: {KA_NOT_CARRIED['alpha']}")
            elif key.isupper() and child.children is not None:
                checkers.append(child)
            elif key in KA_NOT_CARRIED:
                diags.warn(child.line, f"{key} not carried over: {KA_NOT_CARRIED[key]}")
            else:
                diags.warn(child.line, f"unknown real_server keyword {key[:40]} ignored")
        if family != svc.family and method != "ipip":
            diags.error(node.line, f"real_server {args[0]} is not {svc.family} (only tunnelled "
                                   "real servers may differ)")
        p = rs.params
        p["method"] = method
        probe_port = None
        if port is not None and method == "masq":
            p["rport"] = str(port)
        elif port is not None and port != svc.port:
            probe_port = port
            if svc.port is not None:
                diags.warn(node.line, f"port {port} of a {method} real server is ignored by IPVS "
                                      f"(it uses port {svc.port}); kept only as the check port")
        p["weight"] = weight
        p.update(thresholds)
        p.update(check_params(diags, checkers, inherit, probe_port, port is not None))
        inhibit = inherit.get("inhibit_on_failure")
        quiescent = inhibit is not None and parse_bool(diags, inhibit[0], inhibit[1])
        p["failure_action"] = "quiescent" if quiescent else "remove"
        return rs


def parse(text: str, diags: Diagnostics) -> Config:
    return _Reader(diags).read(parse_tree(text, diags))

