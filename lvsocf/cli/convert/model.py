"""Neutral model between the parsers (ldirectord, keepalived) and the emitters (crm, pcs).

Parameter dictionaries already use the lvsocf agent parameter names of docs/interfaces.md;
the parsers do all the mapping (with the tables in mapping.py), the emitters only name and
print resources.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RealServer:
    """One real server of one virtual service (one IPVSRealServer resource)."""

    address: str
    port: int | None
    line: int
    # method, weight, thresholds and the check: IPVSRealServer parameter names
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class VirtualService:
    """One IPVS virtual service (one IPVSService resource)."""

    line: int
    family: str = "inet"  # inet | inet6
    protocol: str | None = "tcp"  # tcp | udp | sctp; None for fwmark services
    address: str | None = None  # VIP (None for fwmark services)
    port: int | None = None
    fwmark: int | None = None
    # scheduler, sched_flags, persistent, netmask, pe, ops, fallback, fallback_method
    params: dict[str, str] = field(default_factory=dict)
    reals: list[RealServer] = field(default_factory=list)
    vip_cidr: str | None = None  # prefix length of the VIP when the source says it
    vip_nic: str | None = None
    comments: list[str] = field(default_factory=list)

    def identity(self) -> dict[str, str]:
        """The service identity parameters shared by IPVSService and IPVSRealServer."""
        if self.fwmark is not None:
            return {"fwmark": str(self.fwmark), "family": self.family}
        ident = {"protocol": self.protocol or "tcp", "vip": self.address or ""}
        ident["port"] = str(self.port)
        return ident

    def key(self) -> tuple[object, ...]:
        if self.fwmark is not None:
            return ("fwm", self.family, self.fwmark)
        return (self.protocol, self.address, self.port)


@dataclass
class SyncDaemon:
    """The IPVS connection synchronisation daemon (IPVSSync promotable clone)."""

    line: int | None
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class Config:
    source_format: str  # ldirectord | keepalived
    services: list[VirtualService] = field(default_factory=list)
    sync: SyncDaemon | None = None
