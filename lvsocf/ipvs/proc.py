"""Cheap readers of /proc/net/ip_vs and /proc/net/ip_vs_conn (no netlink, no pyroute2).

The connection table has no netlink call at all; /proc/net/ip_vs is what monitor actions read
because it costs one file read instead of a netlink socket and its imports.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from lvsocf.ipvs.model import ServiceKey

PROC_SERVICES = Path("/proc/net/ip_vs")
PROC_CONNS = Path("/proc/net/ip_vs_conn")
_METHODS = {"Masq": "masq", "Local": "local", "Tunnel": "ipip", "Route": "gate"}


def _hostport(text: str) -> tuple[str, int]:
    """'0A000001:0050' or '[2001:0db8::1]:0050' -> ('10.0.0.1', 80)."""
    host, _, port = text.rpartition(":")
    if host.startswith("["):
        address = str(ipaddress.IPv6Address(host[1:-1]))
    else:
        address = str(ipaddress.IPv4Address(int(host, 16)))
    return address, int(port, 16)


def _addr(text: str) -> str:
    if ":" in text:
        return str(ipaddress.IPv6Address(text))
    return str(ipaddress.IPv4Address(int(text, 16)))


@dataclass(frozen=True)
class ProcRealServer:
    address: str
    port: int
    method: str
    weight: int
    active_conns: int
    inactive_conns: int
    token: str = field(default="", compare=False)     # its address as /proc prints it


@dataclass
class ProcService:
    key: ServiceKey
    scheduler: str
    persistent: bool = False    # /proc prints the timeout in jiffies (HZ unknown here)
    real_servers: list[ProcRealServer] = field(default_factory=list)
    line: str = ""      # its line as /proc prints it

    def matches(self, key: ServiceKey) -> bool:
        """/proc does not print the family of fwmark services: those match on the mark."""
        if key.fwmark:
            return self.key.fwmark == key.fwmark
        return self.key == key


def parse_services(text: str) -> list[ProcService]:
    services: list[ProcService] = []
    for line in text.splitlines()[3:]:
        words = line.split()
        if not words:
            continue
        if words[0] == "->":
            address, port = _hostport(words[1])
            services[-1].real_servers.append(ProcRealServer(
                address, port, _METHODS.get(words[2], words[2].lower()), int(words[3]),
                int(words[4]), int(words[5]), words[1]))
            continue
        if words[0] == "FWM":
            key = ServiceKey(fwmark=int(words[1], 16))
            rest = words[2:]
        else:
            address, port = _hostport(words[1])
            key = ServiceKey(protocol=words[0].lower(), address=address, port=port)
            rest = words[2:]
        persistent = "persistent" in rest
        services.append(ProcService(key, rest[0] if rest else "", persistent, line=line))
    return services


def read_services(path: Path = PROC_SERVICES) -> list[ProcService] | None:
    """None when the kernel has no IPVS loaded (the file is absent)."""
    try:
        return parse_services(path.read_text())
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class Connection:
    protocol: str
    client: str
    client_port: int
    virtual: str
    virtual_port: int
    real: str
    real_port: int
    state: str
    expires: int
    pe_name: str = ""
    pe_data: str = ""


def parse_connections(text: str) -> list[Connection]:
    conns = []
    for line in text.splitlines()[1:]:
        w = line.split()
        if len(w) < 9:
            continue
        conns.append(Connection(
            w[0].lower(), _addr(w[1]), int(w[2], 16), _addr(w[3]), int(w[4], 16),
            _addr(w[5]), int(w[6], 16), w[7], int(w[8]),
            w[9] if len(w) > 9 else "", w[10] if len(w) > 10 else ""))
    return conns


def read_connections(path: Path = PROC_CONNS) -> list[Connection]:
    try:
        return parse_connections(path.read_text())
    except FileNotFoundError:
        return []
