"""The netlink socket: every IPVS read and write goes through `Ipvs`.

Bytes come from lvsocf.ipvs.wire (pure encode/decode); this module owns the NETLINK_GENERIC
socket bound in the caller's network namespace: sending, receiving, acknowledgements and
errors. Writes are batched: many requests per sendmsg, an acknowledgement requested only from
the last of each batch (the kernel still answers every failing request with an error carrying
its sequence number), so each failure is reported for its own Op.
"""
from __future__ import annotations

import errno
import socket
import struct
import subprocess
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from lvsocf.ipvs import codec, dest_dump, errors, protocol, wire
from lvsocf.ipvs.model import (
    RealServer,
    RealServerInfo,
    Service,
    ServiceInfo,
    ServiceKey,
    SyncDaemon,
    Timeouts,
)
from lvsocf.ipvs.op import Op, OpKind
from lvsocf.ipvs.wire import netmask_from_wire, netmask_to_wire

__all__ = ["Ipvs", "Op", "OpKind", "iter_services", "netmask_from_wire", "netmask_to_wire"]

NETLINK_GENERIC = 16
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
SOL_NETLINK, NETLINK_CAP_ACK = 270, 10
SO_RCVBUFFORCE, SO_SNDBUFFORCE = 33, 32
BUFFER = 8 << 20
# Requests per sendmsg. Each may earn an error message (36 bytes with NETLINK_CAP_ACK, under
# 1 KiB of receive buffer): a batch cannot overflow the buffer even when all of it fails.
BATCH = 256
RECV_SIZE = 1 << 20
RECV_TIMEOUT = 30.0      # seconds: the kernel answers at once, or not at all
REQUEST, ACK, DUMP = codec.NLM_F_REQUEST, codec.NLM_F_ACK, codec.NLM_F_DUMP
_HEADERS = codec.NLMSG_HDR.size + codec.GENL_HDR.size


class Ipvs:
    """A connection to the kernel's IPVS in the current network namespace."""

    def __init__(self, load_module: bool = True) -> None:
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        for forced, plain in ((SO_RCVBUFFORCE, socket.SO_RCVBUF),
                              (SO_SNDBUFFORCE, socket.SO_SNDBUF)):
            try:
                self._sock.setsockopt(socket.SOL_SOCKET, forced, BUFFER)
            except PermissionError:
                self._sock.setsockopt(socket.SOL_SOCKET, plain, BUFFER)
        try:        # errors without a copy of the request (Linux >= 4.3)
            self._sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        except OSError:
            pass
        # a kernel that never answers must not hang the engine's event loop for ever
        self._sock.settimeout(RECV_TIMEOUT)
        self._sock.bind((0, 0))
        self._buffer = bytearray(RECV_SIZE)
        self._seq = 0
        try:
            try:
                self.family = self._resolve_family()
            except errors.NotFound:
                if not load_module or not _modprobe("ip_vs"):
                    raise errors.NotAvailable(
                        "IPVS is not available in this kernel (module ip_vs missing)") from None
                self.family = self._resolve_family()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> Ipvs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport
    def _resolve_family(self) -> int:
        payload = codec.encode_attrs(wire.CTRL, {"family_name": protocol.GENL_NAME})
        replies = self._request(CTRL_CMD_GETFAMILY, payload, "IPVS netlink family",
                                family=GENL_ID_CTRL)
        return wire.decode(replies[0], wire.CTRL)["family_id"]

    def _next_seqs(self, count: int) -> int:
        """Reserve `count` consecutive sequence numbers (a u32 on the wire: a run that would
        cross 2**32 starts again at 1, so first <= seq <= last holds); the first of them."""
        if self._seq + count > 0xFFFFFFFF:
            self._seq = 0
        self._seq += count
        return self._seq - count + 1

    def _datagram(self) -> memoryview:
        """One datagram from the kernel, valid until the next call."""
        try:
            size = self._sock.recv_into(self._buffer)
        except TimeoutError:
            raise errors.IpvsError(f"IPVS: no answer from the kernel in {RECV_TIMEOUT:g} s") \
                from None
        except OSError as exc:      # ENOBUFS: answers were lost, outcomes are unknown
            raise errors.IpvsError(f"IPVS: reading the kernel's answers: {exc}") from exc
        return memoryview(self._buffer)[:size]

    def _request(self, cmd: int, payload: bytes, what: str, dump: bool = False,
                 family: int | None = None,
                 convert: Callable[[memoryview], Any] = bytes,
                 bulk: dest_dump.Bulk | None = None) -> list:
        """One request; its replies (whole messages) through `convert`. Raises its error.
        `bulk` may first take a run of replies at the start of each datagram at once."""
        seq = self._next_seqs(1)
        flags = REQUEST | (DUMP if dump else ACK)
        self._sock.send(codec.frame(self.family if family is None else family, flags, seq,
                                    cmd, protocol.GENL_VERSION, payload))
        replies: list = []
        while True:
            view = self._datagram()
            offset = bulk(view, replies, seq) if bulk is not None else 0
            for mtype, _flags, rseq, message in codec.split_messages(view[offset:]):
                if rseq != seq:
                    continue
                if mtype == codec.NLMSG_ERROR:
                    if code := codec.error_code(message):
                        raise errors.from_errno(code, what)
                    return replies
                if mtype == codec.NLMSG_DONE:
                    return replies
                replies.append(convert(message))

    def apply(self, ops: Sequence[Op]) -> list[errors.IpvsError | None]:
        """Run many writes in order, batched; one result per op (None = done). An error is
        also reachable from its op and names it (IpvsError.op)."""
        results: list[errors.IpvsError | None] = [None] * len(ops)
        for start in range(0, len(ops), BATCH):
            self._apply_batch(ops, start, min(len(ops), start + BATCH), results)
        return results

    def _apply_batch(self, ops: Sequence[Op], start: int, stop: int,
                     results: list[errors.IpvsError | None]) -> None:
        first = self._next_seqs(stop - start)
        last = first + stop - start - 1
        family, version, pack = self.family, protocol.GENL_VERSION, _FRAME.pack
        chunk = b"".join([
            pack(_HEADERS + len(op.payload), family, REQUEST | (ACK if seq == last else 0), seq,
                 0, op.kind.value, version, 0) + op.payload
            for seq, op in zip(range(first, last + 1), ops[start:stop], strict=True)])
        try:
            self._sock.send(chunk)
        except OSError as exc:
            raise errors.IpvsError(f"IPVS: sending {stop - start} requests: {exc}") from exc
        while True:
            for mtype, _flags, seq, message in codec.split_messages(self._datagram()):
                if mtype != codec.NLMSG_ERROR or not first <= seq <= last:
                    continue
                if code := codec.error_code(message):
                    op = ops[start + seq - first]
                    results[start + seq - first] = _error_for(op, code)
                if seq == last:     # the kernel answers in order: nothing else will come
                    return

    # -- info and config
    def version(self) -> tuple[str, int]:
        reply = self._request(protocol.CMD_GET_INFO, b"", "IPVS info")[0]
        return wire.version_from(wire.decode(reply, wire.INFO))

    def timeouts(self) -> Timeouts:
        reply = self._request(protocol.CMD_GET_CONFIG, b"", "IPVS timeouts")[0]
        return wire.timeouts_from(wire.decode(reply))

    def set_timeouts(self, t: Timeouts) -> None:
        self.write(Op.set_timeouts(t))

    def zero(self, key: ServiceKey | None = None) -> None:
        self.write(Op.zero(key))

    def write(self, op: Op) -> None:
        """Run one op; raise its error."""
        error = self.apply([op])[0]
        if error is not None:
            raise error

    # -- services
    def services(self, stats: bool = True) -> list[ServiceInfo]:
        """Every service; with its counters unless `stats` is false (then stats is None)."""
        sch = wire.MESSAGE if stats else wire.MESSAGE_WITHOUT_COUNTERS
        replies = self._request(protocol.CMD_GET_SERVICE, b"", "list services", dump=True,
                                convert=lambda message: wire.decode(message, sch))
        return [wire.service_from(r["service"], stats) for r in replies if "service" in r]

    def service(self, key: ServiceKey) -> ServiceInfo | None:
        try:
            replies = self._request(protocol.CMD_GET_SERVICE, wire.service_key(key),
                                    f"service {key}", convert=wire.decode)
        except errors.NotFound:
            return None
        return next((wire.service_from(r["service"]) for r in replies if "service" in r), None)

    def add_service(self, svc: Service) -> None:
        self.write(Op.add_service(svc))

    def edit_service(self, svc: Service) -> None:
        self.write(Op.edit_service(svc))

    def delete_service(self, key: ServiceKey) -> None:
        self.write(Op.delete_service(key))

    # -- real servers
    def real_servers(self, key: ServiceKey, stats: bool = True) -> list[RealServerInfo]:
        """The real servers of one service; their counters unless `stats` is false (the
        engine needs rules, weights and connection counts: `ipvsadm -Sn` plus the counts)."""
        decoder = dest_dump.DestDecoder(key.family, self.family, stats)
        replies = self._request(protocol.CMD_GET_DEST, wire.service_key(key),
                                f"real servers of {key}", dump=True, convert=decoder,
                                bulk=decoder.run)
        return [r for r in replies if r is not None]

    def add_real_server(self, key: ServiceKey, rs: RealServer) -> None:
        self.write(Op.add_real_server(key, rs))

    def edit_real_server(self, key: ServiceKey, rs: RealServer) -> None:
        self.write(Op.edit_real_server(key, rs))

    def delete_real_server(self, key: ServiceKey, address: str, port: int) -> None:
        self.write(Op.delete_real_server(key, address, port))

    # -- sync daemons
    def daemons(self) -> list[SyncDaemon]:
        replies = self._request(protocol.CMD_GET_DAEMON, b"", "list sync daemons", dump=True,
                                convert=wire.decode)
        return [wire.daemon_from(r["daemon"]) for r in replies if "daemon" in r]

    def start_daemon(self, d: SyncDaemon) -> None:
        self.write(Op.start_daemon(d))

    def stop_daemon(self, state: str) -> None:
        self.write(Op.stop_daemon(state))


_FRAME = struct.Struct("=IHHIIBBH")     # nlmsghdr + genlmsghdr


def _error_for(op: Op, code: int) -> errors.IpvsError:
    if code == errno.ENOENT and op.kind in (OpKind.ADD_SERVICE, OpKind.EDIT_SERVICE):
        error: errors.IpvsError = errors.SchedulerMissing(
            f"{op.what}: scheduler or persistence engine not available in this kernel")
    else:
        error = errors.from_errno(code, op.what)
    error.op = op
    return error


def _modprobe(module: str) -> bool:
    try:
        return subprocess.run(["modprobe", module], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def iter_services(k: Ipvs, stats: bool = True
                  ) -> Iterable[tuple[ServiceInfo, list[RealServerInfo]]]:
    """The whole table: each service with its real servers (and the counters of both
    unless `stats` is false)."""
    for info in k.services(stats):
        yield info, k.real_servers(info.service.key, stats)
