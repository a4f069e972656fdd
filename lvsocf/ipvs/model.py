"""Typed model of the IPVS table, independent of how it is read or written."""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from typing import NamedTuple

PROTOCOLS = {"tcp": 6, "udp": 17, "sctp": 132}
PROTOCOL_NAMES = {v: k for k, v in PROTOCOLS.items()}
FAMILIES = {"inet": 2, "inet6": 10}
FAMILY_NAMES = {v: k for k, v in FAMILIES.items()}
METHODS = {"masq": 0, "local": 1, "ipip": 2, "gate": 3}   # IP_VS_CONN_F_* forwarding methods
METHOD_NAMES = {v: k for k, v in METHODS.items()}
TUNNEL_TYPES = {"ipip": 0, "gue": 1, "gre": 2}
TUNNEL_TYPE_NAMES = {v: k for k, v in TUNNEL_TYPES.items()}
# Service flags (IP_VS_SVC_F_*); the scheduler flags mean different things per scheduler.
F_PERSISTENT, F_HASHED, F_ONEPACKET = 0x1, 0x2, 0x4
SCHED_FLAGS = {"flag-1": 0x8, "flag-2": 0x10, "flag-3": 0x20,
               "sh-fallback": 0x8, "sh-port": 0x10, "mh-fallback": 0x8, "mh-port": 0x10}


def canonical_address(address: str) -> str:
    """The address as str(ipaddress.ip_address(address)) writes it; ValueError if invalid.
    IPv4 goes through inet_pton/inet_ntop (strict dotted quad, as ipaddress): 10x faster,
    which counts when a table of thousands of real servers is built."""
    try:
        return socket.inet_ntop(socket.AF_INET, socket.inet_pton(socket.AF_INET, address))
    except (OSError, TypeError):
        return str(ipaddress.ip_address(address))


def family_of(address: str) -> str:
    return "inet6" if ipaddress.ip_address(address).version == 6 else "inet"


def sched_flag_bits(flags: frozenset[str]) -> int:
    bits = 0
    for name in flags:
        bits |= SCHED_FLAGS[name]
    return bits


def sched_flag_names(bits: int, scheduler: str) -> frozenset[str]:
    """Names for the scheduler flag bits, in the scheduler's own vocabulary where it has one."""
    prefix = scheduler if scheduler in ("sh", "mh") else None
    names = set()
    for index, bit in enumerate((0x8, 0x10, 0x20), start=1):
        if bits & bit:
            if prefix and index == 1:
                names.add(f"{prefix}-fallback")
            elif prefix and index == 2:
                names.add(f"{prefix}-port")
            else:
                names.add(f"flag-{index}")
    return frozenset(names)


@dataclass(frozen=True, order=True)
class ServiceKey:
    """What identifies a virtual service: protocol+address+port, or fwmark+family."""

    protocol: str = "tcp"
    address: str | None = None
    port: int = 0
    fwmark: int = 0
    family: str = "inet"

    def __post_init__(self) -> None:
        if self.fwmark:
            object.__setattr__(self, "address", None)
            object.__setattr__(self, "port", 0)
        elif self.address is not None:
            canonical = canonical_address(self.address)
            object.__setattr__(self, "address", canonical)
            object.__setattr__(self, "family", "inet6" if ":" in canonical else "inet")

    @property
    def is_fwmark(self) -> bool:
        return bool(self.fwmark)

    def __str__(self) -> str:
        if self.fwmark:
            return f"fwmark {self.fwmark} ({self.family})"
        host = f"[{self.address}]" if self.family == "inet6" else self.address
        return f"{self.protocol} {host}:{self.port}"


@dataclass(frozen=True)
class Service:
    key: ServiceKey
    scheduler: str = "wlc"
    sched_flags: frozenset[str] = frozenset()
    persistent: int = 0          # persistence timeout in seconds; 0 = not persistent
    netmask: str | int | None = None   # IPv4 dotted quad, or IPv6 prefix length
    pe_name: str = ""
    one_packet: bool = False

    @property
    def flag_bits(self) -> int:
        bits = sched_flag_bits(self.sched_flags)
        if self.persistent:
            bits |= F_PERSISTENT
        if self.one_packet:
            bits |= F_ONEPACKET
        return bits

    @property
    def effective_netmask(self) -> str | int:
        if self.netmask is not None:
            return self.netmask
        return 128 if self.key.family == "inet6" else "255.255.255.255"

    def same_settings(self, other: Service) -> bool:
        """True when other has the settings this service asks for (scheduler flags compared
        by bit, since sh-port and flag-2 are the same bit)."""
        return (self.scheduler == other.scheduler
                and sched_flag_bits(self.sched_flags) == sched_flag_bits(other.sched_flags)
                and self.persistent == other.persistent
                and (not self.persistent
                     or _netmask_eq(self.effective_netmask, other.effective_netmask))
                and self.pe_name == other.pe_name
                and self.one_packet == other.one_packet)


def _netmask_eq(a: str | int, b: str | int) -> bool:
    return str(a) == str(b)


# RealServer, RealServerInfo and Stats are NamedTuples, not dataclasses: a table dump builds
# one of each per real server, and tuple.__new__ does that at C speed (lvsocf.ipvs.dest_dump
# builds thousands that way, from values already canonical). Change fields with _replace().
class _RealServerFields(NamedTuple):
    address: str
    port: int
    method: str
    weight: int
    u_threshold: int
    l_threshold: int
    tun_type: str
    tun_port: int
    tun_flags: int


class RealServer(_RealServerFields):
    __slots__ = ()

    def __new__(cls, address: str, port: int = 0, method: str = "gate", weight: int = 1,
                u_threshold: int = 0, l_threshold: int = 0, tun_type: str = "ipip",
                tun_port: int = 0, tun_flags: int = 0) -> RealServer:
        return super().__new__(cls, canonical_address(address), port, method, weight,
                               u_threshold, l_threshold, tun_type, tun_port, tun_flags)

    @property
    def family(self) -> str:
        return "inet6" if ":" in self.address else "inet"   # the address is canonical

    @property
    def ident(self) -> tuple[str, int]:
        return (self.address, self.port)

    def __str__(self) -> str:
        host = f"[{self.address}]" if self.family == "inet6" else self.address
        return f"{host}:{self.port}"


class Stats(NamedTuple):
    conns: int = 0
    inpkts: int = 0
    outpkts: int = 0
    inbytes: int = 0
    outbytes: int = 0
    cps: int = 0
    inpps: int = 0
    outpps: int = 0
    inbps: int = 0
    outbps: int = 0


@dataclass(frozen=True)
class ServiceInfo:
    service: Service
    stats: Stats | None = field(default_factory=Stats)    # None: the counters were not read


class RealServerInfo(NamedTuple):
    real_server: RealServer
    active_conns: int = 0
    inactive_conns: int = 0
    persistent_conns: int = 0
    stats: Stats | None = None       # None: the counters were not read


@dataclass(frozen=True)
class SyncDaemon:
    state: str                       # "master" or "backup"
    interface: str
    syncid: int = 0
    maxlen: int = 0                  # 0 = kernel default (MTU based)
    mcast_group: str | None = None   # None = kernel default 224.0.0.81
    mcast_port: int = 0              # 0 = kernel default 8848
    mcast_ttl: int = 0               # 0 = kernel default 1


@dataclass(frozen=True)
class Timeouts:
    tcp: int = 0       # 0 on set = leave unchanged (as ipvsadm --set)
    tcp_fin: int = 0
    udp: int = 0
