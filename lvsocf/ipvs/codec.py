"""Netlink framing and a struct-based attribute codec driven by the tables of protocol.py.

Pure byte handling, no sockets. protocol.py stays the single definition of the wire format;
this module only reads it.
"""
from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from functools import cache
from typing import Any

from lvsocf.ipvs.errors import IpvsError
from lvsocf.ipvs.protocol import Table

NLMSG_HDR = struct.Struct("=IHHII")
GENL_HDR = struct.Struct("=BBH")
NLA_HDR = struct.Struct("=HH")
NLMSGERR = struct.Struct("=i")
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK = 0x1, 0x2, 0x4
NLM_F_DUMP = 0x300
NLA_F_NESTED = 0x8000
NLA_TYPE_MASK = 0x3FFF
REPLY_START = NLMSG_HDR.size + GENL_HDR.size    # attributes of a message start here

SCALARS = {
    "u8": struct.Struct("=B"), "u16": struct.Struct("=H"),
    "u32": struct.Struct("=I"), "u64": struct.Struct("=Q"),
    "be16": struct.Struct(">H"), "be32": struct.Struct(">I"),
}


class Schema:
    """Name and number lookup for one Table: (number, kind, nested schema or struct)."""

    def __init__(self, table: Table) -> None:
        self.by_name: dict[str, tuple[int, str, Any]] = {}
        self.by_index: dict[int, tuple[str, str, Any]] = {}
        for index, (name, kind) in enumerate(table.fields, start=1):
            sub: Any = None
            if isinstance(kind, Table):
                kind, sub = "nested", schema(kind)
            elif kind not in SCALARS and kind not in ("asciiz", "bytes", "ip4", "ip6"):
                kind, sub = "struct", struct.Struct(kind)
            self.by_name[name] = (index, kind, sub)
            self.by_index[index] = (name, kind, sub)


@cache
def schema(table: Table) -> Schema:
    return Schema(table)


def _pack_value(kind: str, sub: Any, value: Any) -> bytes:
    if kind in SCALARS:
        return SCALARS[kind].pack(value)
    if kind == "asciiz":
        return value.encode() + b"\0"
    if kind == "bytes":
        return bytes(value)
    if kind == "ip4":
        return socket.inet_pton(socket.AF_INET, value)
    if kind == "ip6":
        return socket.inet_pton(socket.AF_INET6, value)
    if kind == "struct":
        return sub.pack(*value)
    return encode_attrs(sub, value)      # nested


def encode_attrs(sch: Schema, items: Any) -> bytes:
    """items: a mapping or (name, value) pairs, names as in protocol.py ("addr", "port")."""
    out = bytearray()
    for name, value in (items.items() if hasattr(items, "items") else items):
        index, kind, sub = sch.by_name[name]
        payload = _pack_value(kind, sub, value)
        flag = NLA_F_NESTED if kind == "nested" else 0
        out += NLA_HDR.pack(len(payload) + 4, index | flag) + payload
        out += b"\0" * (-len(payload) % 4)
    return bytes(out)


def decode_attrs(sch: Schema, data: bytes | memoryview, offset: int = 0,
                 end: int | None = None) -> dict[str, Any]:
    """The attributes in data[offset:end] by name; unknown numbers are skipped."""
    end = len(data) if end is None else end
    result: dict[str, Any] = {}
    while offset + 4 <= end:
        length, raw_type = NLA_HDR.unpack_from(data, offset)
        if length < 4:
            break
        entry = sch.by_index.get(raw_type & NLA_TYPE_MASK)
        start, stop = offset + 4, min(offset + length, end)
        if entry is not None:
            name, kind, sub = entry
            if kind in SCALARS:
                result[name] = SCALARS[kind].unpack_from(data, start)[0]
            elif kind == "asciiz":
                result[name] = bytes(data[start:stop]).split(b"\0", 1)[0].decode()
            elif kind == "struct":
                result[name] = sub.unpack_from(data, start)
            elif kind == "nested":
                result[name] = decode_attrs(sub, data, start, stop)
            elif kind == "ip4":
                result[name] = socket.inet_ntop(socket.AF_INET, bytes(data[start:start + 4]))
            elif kind == "ip6":
                result[name] = socket.inet_ntop(socket.AF_INET6, bytes(data[start:start + 16]))
            else:
                result[name] = bytes(data[start:stop])
        offset += (length + 3) & ~3
    return result


def frame(family: int, flags: int, seq: int, cmd: int, version: int, attrs: bytes) -> bytes:
    """One generic-netlink request: nlmsghdr + genlmsghdr + attributes."""
    size = REPLY_START + len(attrs)
    return NLMSG_HDR.pack(size, family, flags, seq, 0) + GENL_HDR.pack(cmd, version, 0) + attrs


def split_messages(data: bytes | memoryview) -> Iterator[tuple[int, int, int, memoryview]]:
    """(type, flags, seq, message) for each netlink message in a datagram; `message` is the
    whole message, header included (attributes start at REPLY_START)."""
    view = memoryview(data)
    offset, size = 0, len(view)
    while offset + 16 <= size:
        length, mtype, flags, seq, _pid = NLMSG_HDR.unpack_from(view, offset)
        if length < 16 or offset + length > size:
            raise IpvsError(f"IPVS: truncated netlink message ({length} bytes at {offset} "
                            f"of {size})")
        yield mtype, flags, seq, view[offset:offset + length]
        offset += (length + 3) & ~3


def error_code(message: memoryview) -> int:
    """The errno of an NLMSG_ERROR message (0: an acknowledgement)."""
    return -NLMSGERR.unpack_from(message, NLMSG_HDR.size)[0]
