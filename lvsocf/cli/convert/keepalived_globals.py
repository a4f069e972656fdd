"""keepalived global_defs and vrrp_instance: the sync daemon, lvs_timeouts, and the netmask and
interface of VRRP addresses (given to the IPaddr2 VIP of a virtual_server on that address)."""

from __future__ import annotations

import ipaddress

from .diag import Diagnostics
from .keepalived_lexer import Node
from .mapping import KA_GLOBAL_NOT_CARRIED, KA_LVS_TIMEOUTS, KA_SYNC_OPTS
from .model import SyncDaemon
from .values import ip_family, parse_int


class Vip:
    def __init__(self, prefix: str, nic: str | None) -> None:
        self.prefix, self.nic = prefix, nic


class GlobalsReader:
    def __init__(self, diags: Diagnostics) -> None:
        self.diags = diags
        self.vips: dict[str, Vip] = {}
        self.vrids: dict[str, str] = {}
        self.sync: SyncDaemon | None = None
        self.timeouts: tuple[int, dict[str, str]] | None = None

    def vrrp(self, node: Node) -> None:
        name = node.args[0] if node.args else "?"
        self.diags.warn(node.line, f"vrrp_instance {name} not converted: Pacemaker replaces VRRP "
                                   "(only its addresses' netmask/interface and its sync daemon "
                                   "are used)")
        children = node.children or []
        iface = next((c.args[0] for c in children if c.keyword == "interface" and c.args), None)
        vrid = next((c.args[0] for c in children
                     if c.keyword == "virtual_router_id" and c.args), None)
        if vrid is not None:
            self.vrids[name] = vrid
        for child in children:
            if child.keyword in ("virtual_ipaddress", "virtual_ipaddress_excluded"):
                for entry in child.children or []:
                    self._vip_entry(entry, iface)
            elif child.keyword == "lvs_sync_daemon_interface" and child.args:
                params = {"interface": child.args[0]}
                if vrid is not None:
                    params["syncid"] = vrid
                self._set_sync(child.line, params)

    def _vip_entry(self, entry: Node, iface: str | None) -> None:
        address, _, prefix = entry.keyword.partition("/")
        family = ip_family(address)
        if family is None:
            return
        nic = iface
        words = entry.args
        for i, word in enumerate(words[:-1]):
            if word == "dev":
                nic = words[i + 1]
        if not prefix.isdigit():
            prefix = "32" if family == "inet" else "128"
        self.vips.setdefault(str(ipaddress.ip_address(address)), Vip(prefix, nic))

    def _set_sync(self, line: int, params: dict[str, str]) -> None:
        if self.sync is not None:
            self.diags.warn(line, "second sync daemon definition ignored (one IPVSSync clone)")
            return
        self.sync = SyncDaemon(line, params)

    def global_defs(self, node: Node) -> None:
        for child in node.children or []:
            key = child.keyword
            if key == "lvs_sync_daemon":
                self._lvs_sync_daemon(child)
            elif key == "lvs_sync_daemon_interface" and child.args:
                self._set_sync(child.line, {"interface": child.args[0]})
            elif key == "lvs_timeouts":
                self._lvs_timeouts(child)
            elif key in KA_GLOBAL_NOT_CARRIED:
                self.diags.warn(child.line, f"{key} not carried over: {KA_GLOBAL_NOT_CARRIED[key]}")

    def _lvs_sync_daemon(self, node: Node) -> None:
        if not node.args:
            self.diags.error(node.line, "lvs_sync_daemon needs an interface")
        params = {"interface": node.args[0]}
        args, i, instance = node.args[1:], 0, None
        while i < len(args):
            word = args[i]
            if word in KA_SYNC_OPTS and i + 1 < len(args):
                value = args[i + 1]
                if word != "group" and parse_int(value, 0, 65535) is None:
                    self.diags.error(node.line, f"lvs_sync_daemon: invalid {word} {value[:20]!r}")
                if word == "group" and ip_family(value) is None:
                    self.diags.error(node.line, f"lvs_sync_daemon: invalid group {value[:40]!r}")
                params[KA_SYNC_OPTS[word]] = value
                i += 2
            elif word == "inst" and i + 1 < len(args):
                instance, i = args[i + 1], i + 2
            elif i == 0:
                instance, i = word, 1
            else:
                self.diags.error(node.line, f"lvs_sync_daemon: unexpected {word[:30]!r}")
        if instance is not None and "syncid" not in params and instance in self.vrids:
            params["syncid"] = self.vrids[instance]
        if "syncid" in params and parse_int(params["syncid"], 0, 255) is None:
            self.diags.error(node.line, "lvs_sync_daemon: id must be 0-255")
        self._set_sync(node.line, params)

    def _lvs_timeouts(self, node: Node) -> None:
        names = KA_LVS_TIMEOUTS
        args, out = node.args, {}
        if not args or len(args) % 2:
            self.diags.error(node.line, "lvs_timeouts: expected [tcp S] [tcpfin S] [udp S]")
        for word, value in zip(args[::2], args[1::2], strict=True):
            if word not in names or parse_int(value, 0, 2**31 - 1) is None:
                self.diags.error(node.line, f"lvs_timeouts: invalid {word[:20]} {value[:20]}")
            out[names[word]] = value
        self.timeouts = (node.line, out)

    def finish(self) -> SyncDaemon | None:
        if self.sync is not None and self.timeouts is not None:
            self.sync.params.update(self.timeouts[1])
        elif self.timeouts is not None:
            self.diags.warn(self.timeouts[0], "lvs_timeouts not carried over: no sync daemon "
                                              "configured (IPVSSync sets them)")
        if self.sync is not None and "syncid" in self.sync.params:
            if parse_int(self.sync.params["syncid"], 0, 255) is None:
                self.diags.warn(self.sync.line, "sync id outside 0-255 dropped")
                del self.sync.params["syncid"]
        return self.sync
