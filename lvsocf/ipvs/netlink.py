"""The netlink backend: every IPVS read and write goes through `Ipvs`.

Requests are framed with codec.py from the tables in protocol.py and sent on a plain
NETLINK_GENERIC socket bound in the caller's network namespace. Bulk operations are pipelined:
all requests of a batch are written before any acknowledgement is read, and each ack is
matched back to its request by sequence number, so one failure names its own entry.
"""
from __future__ import annotations

import errno
import functools
import ipaddress
import itertools
import socket
import struct
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lvsocf.ipvs import codec, errors, protocol
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
    sched_flag_names,
)

NETLINK_GENERIC = 16
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
ALL_FLAGS = 0xFFFFFFFF
NLMSGERR = struct.Struct("=i")
WINDOW = 128
SO_RCVBUFFORCE, SO_SNDBUFFORCE = 33, 32
_MSG = codec.schema(protocol.IpvsMessage)
_INFO = codec.schema(protocol.IpvsInfoMessage)


@dataclass(frozen=True)
class Op:
    """One write: cmd plus its attributes, and a description for error messages."""

    cmd: int
    attrs: bytes
    what: str


# ---- model <-> wire ---------------------------------------------------------------------
# The pyroute2 workarounds live here: full dest attributes on every SET (a SET without
# fwd_method turns NAT into DR), fwmark services with af and netmask, the IPv6 netmask as a
# host-order prefix length, and raw stats/flags decoding (pyroute2's from_message drops them).

def _addr_bytes(address: str) -> bytes:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return socket.inet_pton(family, address).ljust(16, b"\0")


def _addr_str(raw: bytes, family: int) -> str:
    if family == socket.AF_INET6:
        return socket.inet_ntop(socket.AF_INET6, bytes(raw[:16]))
    return socket.inet_ntop(socket.AF_INET, bytes(raw[:4]))


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


def _key_attrs(key: ServiceKey) -> dict:
    if key.fwmark:
        return {"af": FAMILIES[key.family], "fwmark": key.fwmark}
    return {"af": FAMILIES[key.family], "protocol": PROTOCOLS[key.protocol],
            "addr": _addr_bytes(key.address), "port": key.port}


def _service_attrs(svc: Service) -> dict:
    attrs = _key_attrs(svc.key)
    attrs.update({
        "sched_name": svc.scheduler,
        "flags": (svc.flag_bits, ALL_FLAGS),
        "timeout": svc.persistent,
        "netmask": netmask_to_wire(svc.key.family, svc.effective_netmask),
    })
    if svc.pe_name:
        attrs["pe_name"] = svc.pe_name
    return attrs


def _dest_attrs(rs: RealServer) -> dict:
    attrs = {"addr": _addr_bytes(rs.address), "port": rs.port,
             "fwd_method": METHODS[rs.method], "weight": rs.weight,
             "u_thresh": rs.u_threshold, "l_thresh": rs.l_threshold,
             "addr_family": FAMILIES[rs.family]}
    if rs.method == "ipip" and rs.tun_type != "ipip":
        attrs.update(tun_type=TUNNEL_TYPES[rs.tun_type], tun_port=rs.tun_port,
                     tun_flags=rs.tun_flags)
    return attrs


def _stats(attrs: dict) -> Stats:
    raw = attrs.get("stats64") or attrs.get("stats") or {}
    return Stats(**{name: raw.get(name, 0) for name in Stats.__dataclass_fields__})


def _service_from(attrs: dict) -> ServiceInfo:
    family = FAMILY_NAMES.get(attrs.get("af", 2), "inet")
    if attrs.get("fwmark"):
        key = ServiceKey(fwmark=attrs["fwmark"], family=family)
    else:
        key = ServiceKey(protocol=PROTOCOL_NAMES.get(attrs.get("protocol"), "tcp"),
                         address=_addr_str(attrs["addr"], FAMILIES[family]),
                         port=attrs.get("port", 0))
    flags = attrs.get("flags", (0, 0))[0]
    scheduler = attrs.get("sched_name", "")
    persistent = attrs.get("timeout", 0) if flags & F_PERSISTENT else 0
    netmask = netmask_from_wire(family, attrs["netmask"]) if "netmask" in attrs else None
    svc = Service(key=key, scheduler=scheduler, sched_flags=sched_flag_names(flags, scheduler),
                  persistent=persistent, netmask=netmask, pe_name=attrs.get("pe_name", ""),
                  one_packet=bool(flags & F_ONEPACKET))
    return ServiceInfo(service=svc, stats=_stats(attrs))


def _dest_from(attrs: dict, default_family: str) -> RealServerInfo:
    family = attrs.get("addr_family", FAMILIES[default_family])
    rs = RealServer(address=_addr_str(attrs["addr"], family), port=attrs.get("port", 0),
                    method=METHOD_NAMES.get(attrs.get("fwd_method", 3) & 7, "gate"),
                    weight=attrs.get("weight", 0), u_threshold=attrs.get("u_thresh", 0),
                    l_threshold=attrs.get("l_thresh", 0),
                    tun_type=TUNNEL_TYPE_NAMES.get(attrs.get("tun_type", 0), "ipip"),
                    tun_port=attrs.get("tun_port", 0), tun_flags=attrs.get("tun_flags", 0))
    return RealServerInfo(real_server=rs, active_conns=attrs.get("active_conns", 0),
                          inactive_conns=attrs.get("inact_conns", 0),
                          persistent_conns=attrs.get("persist_conns", 0), stats=_stats(attrs))


def _daemon_from(attrs: dict) -> SyncDaemon:
    state = {v: k for k, v in protocol.DAEMON_STATES.items()}.get(attrs.get("state"), "unknown")
    group = attrs.get("mcast_group")
    if group in (None, "0.0.0.0") and "mcast_group6" in attrs:
        group6 = str(ipaddress.IPv6Address(bytes(attrs["mcast_group6"][:16])))
        group = None if group6 == "::" else group6
    return SyncDaemon(state=state, interface=attrs.get("mcast_ifn", ""),
                      syncid=attrs.get("sync_id", 0), maxlen=attrs.get("sync_maxlen", 0),
                      mcast_group=None if group == "0.0.0.0" else group,
                      mcast_port=attrs.get("mcast_port", 0), mcast_ttl=attrs.get("mcast_ttl", 0))


def _attrs(**items: dict | int | bytes) -> bytes:
    return codec.encode_attrs(_MSG, items)


@functools.lru_cache(maxsize=1024)
def _key_nla(key: ServiceKey) -> bytes:
    """The encoded service-key attribute: the same for every real server of a service."""
    return _attrs(service=_key_attrs(key))


# ---- the socket -------------------------------------------------------------------------

class Ipvs:
    """A connection to the kernel's IPVS in the current network namespace."""

    def __init__(self, load_module: bool = True) -> None:
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        for forced, plain in ((SO_RCVBUFFORCE, socket.SO_RCVBUF),
                              (SO_SNDBUFFORCE, socket.SO_SNDBUF)):
            try:
                self._sock.setsockopt(socket.SOL_SOCKET, forced, 4 << 20)
            except PermissionError:
                self._sock.setsockopt(socket.SOL_SOCKET, plain, 4 << 20)
        self._sock.bind((0, 0))
        self._seq = itertools.count(1)
        try:
            self.family = self._resolve_family()
        except errors.NotFound:
            if not load_module or not _modprobe("ip_vs"):
                self.close()
                raise errors.NotAvailable(
                    "IPVS is not available in this kernel (module ip_vs missing)") from None
            self.family = self._resolve_family()

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> Ipvs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport
    def _resolve_family(self) -> int:
        ctrl = codec.schema(protocol.CtrlMessage)
        attrs = codec.encode_attrs(ctrl, {"family_name": protocol.GENL_NAME})
        replies = self._exchange([(GENL_ID_CTRL, codec.NLM_F_REQUEST | codec.NLM_F_ACK,
                                   CTRL_CMD_GETFAMILY, 1, attrs)], "IPVS netlink family")
        error, payloads = replies[0]
        if error:
            raise errors.from_errno(error, "IPVS netlink family")
        decoded = codec.decode_attrs(ctrl, payloads[0], codec.GENL_HDR.size)
        return decoded["family_id"]

    def _exchange(self, requests: Sequence[tuple[int, int, int, int, bytes]], what: str,
                  ) -> list[tuple[int, list[memoryview]]]:
        """Send (type, flags, cmd, version, attrs) requests pipelined, WINDOW at a time (more
        acks in flight overflow the receive buffer: ENOBUFS); return per request
        (errno or 0, reply payloads)."""
        out: list[tuple[int, list[memoryview]]] = []
        for start in range(0, len(requests), WINDOW):
            out += self._exchange_window(requests[start:start + WINDOW])
        return out

    def _exchange_window(self, requests: Sequence[tuple[int, int, int, int, bytes]],
                         ) -> list[tuple[int, list[memoryview]]]:
        seqs = []
        chunk = bytearray()
        for mtype, flags, cmd, version, attrs in requests:
            seq = next(self._seq)
            seqs.append(seq)
            chunk += codec.frame(mtype, flags, seq, cmd, version, attrs)
        self._send(chunk)
        results: dict[int, tuple[int, list[memoryview]]] = {s: (0, []) for s in seqs}
        pending = set(seqs)
        while pending:
            for mtype, _flags, seq, payload in codec.split_messages(self._recv()):
                if seq not in results:
                    continue
                if mtype == codec.NLMSG_ERROR:
                    results[seq] = (-NLMSGERR.unpack_from(payload)[0], results[seq][1])
                    pending.discard(seq)
                elif mtype == codec.NLMSG_DONE:
                    pending.discard(seq)
                else:
                    results[seq][1].append(payload)
        return [results[s] for s in seqs]

    def _send(self, data: bytes | bytearray) -> None:
        self._sock.send(bytes(data))

    def _recv(self) -> bytes:
        return self._sock.recv(1 << 20)

    def _ipvs(self, ops: Sequence[Op], flags: int = codec.NLM_F_REQUEST | codec.NLM_F_ACK,
              ) -> list[tuple[int, list[memoryview]]]:
        return self._exchange([(self.family, flags, op.cmd, protocol.GENL_VERSION, op.attrs)
                               for op in ops], "IPVS")

    def _one(self, op: Op, dump: bool = False) -> list[dict]:
        flags = codec.NLM_F_REQUEST | (codec.NLM_F_DUMP if dump else codec.NLM_F_ACK)
        error, payloads = self._ipvs([op], flags)[0]
        if error:
            raise _error_for(op, error)
        return [codec.decode_attrs(_MSG, p, codec.GENL_HDR.size) for p in payloads]

    def apply(self, ops: Sequence[Op]) -> list[errors.IpvsError | None]:
        """Run many writes pipelined; one result per op (None = done)."""
        return [(_error_for(op, code) if code else None)
                for op, (code, _) in zip(ops, self._ipvs(ops), strict=True)]

    # -- info and config
    def version(self) -> tuple[str, int]:
        error, payloads = self._ipvs([Op(protocol.CMD_GET_INFO, b"", "IPVS info")])[0]
        if error:
            raise errors.from_errno(error, "IPVS info")
        info = codec.decode_attrs(_INFO, payloads[0], codec.GENL_HDR.size)
        code = info.get("version", 0)
        return f"{code >> 16}.{(code >> 8) & 0xFF}.{code & 0xFF}", info.get("conn_tab_size", 0)

    def timeouts(self) -> Timeouts:
        attrs = self._one(Op(protocol.CMD_GET_CONFIG, b"", "IPVS timeouts"))[0]
        return Timeouts(tcp=attrs.get("timeout_tcp", 0), tcp_fin=attrs.get("timeout_tcp_fin", 0),
                        udp=attrs.get("timeout_udp", 0))

    def set_timeouts(self, t: Timeouts) -> None:
        self._one(ops.set_timeouts(t))

    def zero(self, key: ServiceKey | None = None) -> None:
        attrs = _attrs(service=_key_attrs(key)) if key else b""
        self._one(Op(protocol.CMD_ZERO, attrs, f"zero counters of {key or 'all services'}"))

    # -- services
    def services(self) -> list[ServiceInfo]:
        replies = self._one(Op(protocol.CMD_GET_SERVICE, b"", "list services"), dump=True)
        return [_service_from(r["service"]) for r in replies if "service" in r]

    def service(self, key: ServiceKey) -> ServiceInfo | None:
        try:
            replies = self._one(Op(protocol.CMD_GET_SERVICE, _attrs(service=_key_attrs(key)),
                                   f"service {key}"))
        except errors.NotFound:
            return None
        return next((_service_from(r["service"]) for r in replies if "service" in r), None)

    def add_service(self, svc: Service) -> None:
        self._one(ops.add_service(svc))

    def edit_service(self, svc: Service) -> None:
        self._one(ops.edit_service(svc))

    def delete_service(self, key: ServiceKey) -> None:
        self._one(ops.delete_service(key))

    # -- real servers
    def real_servers(self, key: ServiceKey) -> list[RealServerInfo]:
        op = Op(protocol.CMD_GET_DEST, _attrs(service=_key_attrs(key)), f"real servers of {key}")
        return [_dest_from(r["dest"], key.family) for r in self._one(op, dump=True) if "dest" in r]

    def add_real_server(self, key: ServiceKey, rs: RealServer) -> None:
        self._one(ops.add_real_server(key, rs))

    def edit_real_server(self, key: ServiceKey, rs: RealServer) -> None:
        self._one(ops.edit_real_server(key, rs))

    def delete_real_server(self, key: ServiceKey, address: str, port: int) -> None:
        self._one(ops.delete_real_server(key, address, port))

    # -- sync daemons
    def daemons(self) -> list[SyncDaemon]:
        replies = self._one(Op(protocol.CMD_GET_DAEMON, b"", "list sync daemons"), dump=True)
        return [_daemon_from(r["daemon"]) for r in replies if "daemon" in r]

    def start_daemon(self, d: SyncDaemon) -> None:
        self._one(ops.start_daemon(d))

    def stop_daemon(self, state: str) -> None:
        self._one(Op(protocol.CMD_DEL_DAEMON,
                     _attrs(daemon={"state": protocol.DAEMON_STATES[state]}),
                     f"{state} sync daemon"))


class ops:  # noqa: N801 - a namespace of Op builders, used by reconcile and benches
    """Builders for write operations, for Ipvs.apply()."""

    @staticmethod
    def add_service(svc: Service) -> Op:
        return Op(protocol.CMD_NEW_SERVICE, _attrs(service=_service_attrs(svc)),
                  f"service {svc.key} (scheduler {svc.scheduler!r}"
                  f"{', persistence engine ' + repr(svc.pe_name) if svc.pe_name else ''})")

    @staticmethod
    def edit_service(svc: Service) -> Op:
        return Op(protocol.CMD_SET_SERVICE, _attrs(service=_service_attrs(svc)),
                  f"service {svc.key} (scheduler {svc.scheduler!r}"
                  f"{', persistence engine ' + repr(svc.pe_name) if svc.pe_name else ''})")

    @staticmethod
    def delete_service(key: ServiceKey) -> Op:
        return Op(protocol.CMD_DEL_SERVICE, _attrs(service=_key_attrs(key)), f"service {key}")

    @staticmethod
    def add_real_server(key: ServiceKey, rs: RealServer) -> Op:
        return Op(protocol.CMD_NEW_DEST, _key_nla(key) + _attrs(dest=_dest_attrs(rs)),
                  f"real server {rs} of {key}")

    @staticmethod
    def edit_real_server(key: ServiceKey, rs: RealServer) -> Op:
        return Op(protocol.CMD_SET_DEST, _key_nla(key) + _attrs(dest=_dest_attrs(rs)),
                  f"real server {rs} of {key}")

    @staticmethod
    def delete_real_server(key: ServiceKey, address: str, port: int) -> Op:
        dest = {"addr": _addr_bytes(address), "port": port}
        return Op(protocol.CMD_DEL_DEST, _key_nla(key) + _attrs(dest=dest),
                  f"real server {address}:{port} of {key}")

    @staticmethod
    def start_daemon(d: SyncDaemon) -> Op:
        attrs: dict = {"state": protocol.DAEMON_STATES[d.state], "mcast_ifn": d.interface,
                       "sync_id": d.syncid}
        if d.maxlen:
            attrs["sync_maxlen"] = d.maxlen
        if d.mcast_group:
            if ipaddress.ip_address(d.mcast_group).version == 6:
                attrs["mcast_group6"] = d.mcast_group
            else:
                attrs["mcast_group"] = d.mcast_group
        if d.mcast_port:
            attrs["mcast_port"] = d.mcast_port
        if d.mcast_ttl:
            attrs["mcast_ttl"] = d.mcast_ttl
        return Op(protocol.CMD_NEW_DAEMON, _attrs(daemon=attrs),
                  f"{d.state} sync daemon on {d.interface!r} (syncid {d.syncid})")

    @staticmethod
    def set_timeouts(t: Timeouts) -> Op:
        return Op(protocol.CMD_SET_CONFIG,
                  _attrs(timeout_tcp=t.tcp, timeout_tcp_fin=t.tcp_fin, timeout_udp=t.udp),
                  "IPVS timeouts")


def _error_for(op: Op, code: int) -> errors.IpvsError:
    if code == errno.ENOENT and op.cmd in (protocol.CMD_NEW_SERVICE, protocol.CMD_SET_SERVICE):
        return errors.SchedulerMissing(f"{op.what}: scheduler or persistence engine not "
                                       "available in this kernel")
    return errors.from_errno(code, op.what)


def _modprobe(module: str) -> bool:
    try:
        return subprocess.run(["modprobe", module], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def iter_services(k: Ipvs) -> Iterable[tuple[ServiceInfo, list[RealServerInfo]]]:
    """The whole table: each service with its real servers."""
    for info in k.services():
        yield info, k.real_servers(info.service.key)
