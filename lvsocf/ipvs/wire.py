"""The IPVS messages as bytes, both ways, without sockets: what an Op's attributes look like
on the wire, and typed model objects from the kernel's replies.

The pyroute2 workarounds live here: full dest attributes on every SET (a SET without
fwd_method turns NAT into DR), fwmark services with af and netmask, the IPv6 netmask as a
host-order prefix length, and raw stats/flags decoding (pyroute2's from_message drops them).

A real server's request attributes are precompiled: one struct.pack after the service key's
cached bytes. Dumps of real servers have their own fast reader (lvsocf.ipvs.dest_dump).
"""
from __future__ import annotations

import copy
import functools
import ipaddress
import socket
import struct
import sys
from typing import Any

from lvsocf.ipvs import codec, protocol
from lvsocf.ipvs.model import (
    F_ONEPACKET,
    F_PERSISTENT,
    FAMILIES,
    FAMILY_NAMES,
    METHOD_NAMES,
    METHODS,
    PROTOCOL_NAMES,
    PROTOCOLS,
    TUNNEL_TYPE_NAMES,
    TUNNEL_TYPES,
    RealServer,
    RealServerInfo,
    Service,
    ServiceInfo,
    ServiceKey,
    Stats,
    SyncDaemon,
    Timeouts,
    family_of,
    sched_flag_names,
)

ALL_FLAGS = 0xFFFFFFFF
MESSAGE = codec.schema(protocol.MESSAGE)
INFO = codec.schema(protocol.INFO)
CTRL = codec.schema(protocol.CTRL)
_DEST = codec.schema(protocol.DEST)
STATS_NAMES = Stats._fields


def _without_service_counters(sch: codec.Schema) -> codec.Schema:
    """`sch` with a service nest that skips its counter nests unread (decode_attrs skips
    the attribute numbers its schema does not know)."""
    index, kind, service = sch.by_name["service"]
    lean = copy.copy(service)
    lean.by_index = {i: e for i, e in service.by_index.items()
                     if e[0] not in ("stats", "stats64")}
    out = copy.copy(sch)
    out.by_index = {**sch.by_index, index: ("service", kind, lean)}
    return out


MESSAGE_WITHOUT_COUNTERS = _without_service_counters(MESSAGE)
_SWAP16 = sys.byteorder == "little"


# ---- addresses and netmasks -------------------------------------------------------------

def addr_bytes(address: str) -> bytes:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return socket.inet_pton(family, address).ljust(16, b"\0")


def addr_str(raw: bytes | memoryview, family: int) -> str:
    """The canonical text form (as RealServer and ServiceKey keep it) of a wire address."""
    if family == socket.AF_INET6:
        return str(ipaddress.IPv6Address(bytes(raw[:16])))
    return socket.inet_ntop(socket.AF_INET, bytes(raw[:4]))


def method_name(fwd_method: int) -> str:
    """The forwarding method of a dest's fwd_method attribute (its low bits)."""
    return METHOD_NAMES.get(fwd_method & 7, "gate")


def tunnel_type_name(tun_type: int) -> str:
    return TUNNEL_TYPE_NAMES.get(tun_type, "ipip")


def netmask_to_wire(family: str, netmask: str | int) -> int:
    """The kernel reads the netmask as raw be32: IPv4 mask bytes, or an IPv6 prefix length
    stored in host byte order."""
    if family == "inet6":
        return int.from_bytes(struct.pack("=I", int(netmask)), "big")
    return int(ipaddress.IPv4Address(str(netmask)))


def netmask_from_wire(family: str, value: int) -> str | int:
    if family == "inet6":
        return struct.unpack("=I", value.to_bytes(4, "big"))[0]
    return str(ipaddress.IPv4Address(value))


# ---- request attributes -----------------------------------------------------------------

def attrs(**items: Any) -> bytes:
    """Top-level IPVS attributes by name (protocol.MESSAGE), e.g. attrs(timeout_tcp=5)."""
    return codec.encode_attrs(MESSAGE, items)


def key_attrs(key: ServiceKey) -> dict:
    if key.fwmark:
        return {"af": FAMILIES[key.family], "fwmark": key.fwmark}
    return {"af": FAMILIES[key.family], "protocol": PROTOCOLS[key.protocol],
            "addr": addr_bytes(key.address), "port": key.port}


@functools.lru_cache(maxsize=1024)
def service_key(key: ServiceKey) -> bytes:
    """The service attribute naming `key`: the same for every real server of a service."""
    return attrs(service=key_attrs(key))


def service(svc: Service) -> bytes:
    items = key_attrs(svc.key)
    items.update({
        "sched_name": svc.scheduler,
        "flags": (svc.flag_bits, ALL_FLAGS),
        "timeout": svc.persistent,
        "netmask": netmask_to_wire(svc.key.family, svc.effective_netmask),
    })
    if svc.pe_name:
        items["pe_name"] = svc.pe_name
    return attrs(service=items)


# dest: nested header, addr, port, fwd_method, weight, u_thresh, l_thresh, addr_family
_DEST_FIXED = struct.Struct("=HH HH16s HHH2x HHI HHI HHI HHI HHH2x")
_DEST_TUNNEL = struct.Struct("=HHB3x HHH2x HHH2x")


def dest(key: ServiceKey, rs: RealServer) -> bytes:
    """The service key and every setting of `rs` (equal to the generic encoder's output)."""
    tunnel = rs.method == "ipip" and rs.tun_type != "ipip"
    size = _DEST_FIXED.size + (_DEST_TUNNEL.size if tunnel else 0)
    body = _DEST_FIXED.pack(size, 2 | codec.NLA_F_NESTED, 20, 1, addr_bytes(rs.address),
                            6, 2, socket.htons(rs.port), 8, 3, METHODS[rs.method],
                            8, 4, rs.weight, 8, 5, rs.u_threshold, 8, 6, rs.l_threshold,
                            6, 11, FAMILIES[rs.family])
    if tunnel:
        body += _DEST_TUNNEL.pack(5, 13, TUNNEL_TYPES[rs.tun_type],
                                  6, 14, socket.htons(rs.tun_port), 6, 15, rs.tun_flags)
    return service_key(key) + body


def dest_ident(key: ServiceKey, address: str, port: int) -> bytes:
    """Just enough to name a real server (for a delete), with its address family: without
    it the kernel takes the service's, and an IPv4 ipip real server of an IPv6 service (or
    the reverse) is never found."""
    return service_key(key) + attrs(dest={"addr": addr_bytes(address), "port": port,
                                          "addr_family": FAMILIES[family_of(address)]})


def daemon(d: SyncDaemon) -> bytes:
    items: dict = {"state": protocol.DAEMON_STATES[d.state], "mcast_ifn": d.interface,
                   "sync_id": d.syncid}
    if d.maxlen:
        items["sync_maxlen"] = d.maxlen
    if d.mcast_group:
        version = ipaddress.ip_address(d.mcast_group).version
        items["mcast_group6" if version == 6 else "mcast_group"] = d.mcast_group
    if d.mcast_port:
        items["mcast_port"] = d.mcast_port
    if d.mcast_ttl:
        items["mcast_ttl"] = d.mcast_ttl
    return attrs(daemon=items)


def daemon_state(state: str) -> bytes:
    return attrs(daemon={"state": protocol.DAEMON_STATES[state]})


def timeouts(t: Timeouts) -> bytes:
    return attrs(timeout_tcp=t.tcp, timeout_tcp_fin=t.tcp_fin, timeout_udp=t.udp)


# ---- replies ------------------------------------------------------------------------------

def decode(message: memoryview | bytes, sch: codec.Schema = MESSAGE) -> dict[str, Any]:
    """The attributes of one whole reply message (header included) by name."""
    return codec.decode_attrs(sch, message, codec.REPLY_START)


def stats_from(items: dict) -> Stats:
    raw = items.get("stats64") or items.get("stats") or {}
    return Stats(**{name: raw.get(name, 0) for name in STATS_NAMES})


def service_from(items: dict, stats: bool = True) -> ServiceInfo:
    """A decoded `service` attribute as a ServiceInfo (stats None unless `stats`)."""
    family = FAMILY_NAMES.get(items.get("af", 2), "inet")
    if items.get("fwmark"):
        key = ServiceKey(fwmark=items["fwmark"], family=family)
    else:
        key = ServiceKey(protocol=PROTOCOL_NAMES.get(items.get("protocol"), "tcp"),
                         address=addr_str(items["addr"], FAMILIES[family]),
                         port=items.get("port", 0))
    flags = items.get("flags", (0, 0))[0]
    scheduler = items.get("sched_name", "")
    persistent = items.get("timeout", 0) if flags & F_PERSISTENT else 0
    netmask = netmask_from_wire(family, items["netmask"]) if "netmask" in items else None
    svc = Service(key=key, scheduler=scheduler, sched_flags=sched_flag_names(flags, scheduler),
                  persistent=persistent, netmask=netmask, pe_name=items.get("pe_name", ""),
                  one_packet=bool(flags & F_ONEPACKET))
    return ServiceInfo(service=svc, stats=stats_from(items) if stats else None)


def dest_from(items: dict, default_family: str) -> RealServerInfo:
    """A decoded `dest` attribute as a RealServerInfo (its service's family by default)."""
    family = items.get("addr_family", FAMILIES[default_family])
    rs = RealServer(address=addr_str(items["addr"], family), port=items.get("port", 0),
                    method=method_name(items.get("fwd_method", 3)),
                    weight=items.get("weight", 0), u_threshold=items.get("u_thresh", 0),
                    l_threshold=items.get("l_thresh", 0),
                    tun_type=tunnel_type_name(items.get("tun_type", 0)),
                    tun_port=items.get("tun_port", 0), tun_flags=items.get("tun_flags", 0))
    return RealServerInfo(real_server=rs, active_conns=items.get("active_conns", 0),
                          inactive_conns=items.get("inact_conns", 0),
                          persistent_conns=items.get("persist_conns", 0),
                          stats=stats_from(items))


def daemon_from(items: dict) -> SyncDaemon:
    state = {v: k for k, v in protocol.DAEMON_STATES.items()}.get(items.get("state"), "unknown")
    group = items.get("mcast_group")
    if group in (None, "0.0.0.0") and "mcast_group6" in items:
        group6 = str(ipaddress.IPv6Address(items["mcast_group6"]))
        group = None if group6 == "::" else group6
    return SyncDaemon(state=state, interface=items.get("mcast_ifn", ""),
                      syncid=items.get("sync_id", 0), maxlen=items.get("sync_maxlen", 0),
                      mcast_group=None if group == "0.0.0.0" else group,
                      mcast_port=items.get("mcast_port", 0), mcast_ttl=items.get("mcast_ttl", 0))


def timeouts_from(items: dict) -> Timeouts:
    return Timeouts(tcp=items.get("timeout_tcp", 0), tcp_fin=items.get("timeout_tcp_fin", 0),
                    udp=items.get("timeout_udp", 0))


def version_from(items: dict) -> tuple[str, int]:
    code = items.get("version", 0)
    return f"{code >> 16}.{(code >> 8) & 0xFF}.{code & 0xFF}", items.get("conn_tab_size", 0)
