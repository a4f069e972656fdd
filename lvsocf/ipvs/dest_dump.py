"""Reading a GET_DEST dump fast: the real servers of one service, decoded a datagram at a
time.

The kernel writes every dest of a dump with the same attributes in the same order, so the
first message of each length teaches a layout (one struct for the whole message, netlink
header included); a run of messages of that layout is then one struct.iter_unpack, and the
objects are built column at a time (map and zip, no Python code per real server). Each
message is checked against the layout's attribute headers, length, type, flags and sequence
number; a message that differs goes through the generic decoder (wire.decode).
"""
from __future__ import annotations

import operator
import socket
import struct
from collections.abc import Callable, Iterable
from itertools import repeat
from typing import Any

from lvsocf.ipvs import codec
from lvsocf.ipvs.model import RealServer, RealServerInfo, Stats
from lvsocf.ipvs.wire import (
    MESSAGE,
    STATS_NAMES,
    addr_str,
    decode,
    dest_from,
    method_name,
    tunnel_type_name,
)

_FORMATS = {"u8": "B", "u16": "H", "u32": "I", "u64": "Q", "be16": "H", "be32": "I"}
_NEEDED = ("dest.addr", "dest.port", "dest.fwd_method", "dest.weight", "dest.addr_family")
_OPTIONAL = ("dest.u_thresh", "dest.l_thresh", "dest.active_conns", "dest.inact_conns",
             "dest.persist_conns", "dest.tun_type", "dest.tun_port", "dest.tun_flags")
# netlink header: length, type, flags, seq (checked); port id and genl header (not read)
_NLMSG = "=IHHI4x4x"
_tuple_new = tuple.__new__
_ntop, _ntohs = socket.inet_ntop, socket.ntohs
_FIRST_4 = operator.itemgetter(slice(0, 4))       # an IPv4 address in union nf_inet_addr
_U32 = codec.SCALARS["u32"]


class _Layout:
    """One exact layout of a whole dest reply message, netlink header included, as a single
    struct: every attribute header is unpacked as u32 and compared with the learnt ones (with
    the message's length, type, flags and sequence number), so a message that differs in
    any of them is left to the generic decoder. Counters not asked for are skipped unread."""

    def __init__(self, fmt: str, headers: list[int], header_at: list[int],
                 where: dict[str, int], counters: str | None, values: int) -> None:
        self.struct = struct.Struct(fmt)
        self.headers = tuple(headers)
        # the checked values: of one message (a row), or of many (their columns)
        self.header_of = operator.itemgetter(*header_at)
        zero = values             # a column of zeros appended for a field the kernel did not send
        at = [where.get(n, zero) for n in _NEEDED + _OPTIONAL]
        self.fields_of = operator.itemgetter(*at)
        self.counters_of: Callable[[list[tuple]], tuple] | None = None
        if counters:              # the nest they are read from
            counter_at = [where.get(f"dest.{counters}.{n}", zero) for n in STATS_NAMES]
            at += counter_at
            self.counters_of = operator.itemgetter(*counter_at)
        self.missing = zero in at

    @classmethod
    def learn(cls, message: memoryview, stats: bool) -> _Layout | None:
        """The layout of `message` (a dest reply); None if it has no dest or is malformed.
        Only the counters read are decoded: stats64 when the kernel sends it (the 32-bit
        stats nest is then skipped), none at all when `stats` is false."""
        fmt, headers, header_at, where = [_NLMSG], [], [0, 1, 2, 3], {}
        count = 4                                     # values unpacked so far
        try:
            dest = decode(message).get("dest")
        except (struct.error, ValueError, UnicodeDecodeError, KeyError):
            return None         # malformed: left to the generic decoder, which says why
        if not isinstance(dest, dict):
            return None
        # the counters read are the generic decoder's: stats64 unless empty or missing. A
        # nest is skipped unread only when nothing read depends on what it holds.
        counters = ("stats64" if dest.get("stats64") else "stats") if stats else None
        opaque = ({"dest.stats", "dest.stats64"} if counters is None
                  else {"dest.stats"} if counters == "stats64" else set())

        def walk(sch: codec.Schema, offset: int, end: int, prefix: str) -> bool:
            nonlocal count
            while offset < end:
                length, raw_type = codec.NLA_HDR.unpack_from(message, offset)
                step = (length + 3) & ~3
                if length < 4 or offset + length > end:
                    return False
                header_at.append(count)
                headers.append(_U32.unpack_from(message, offset)[0])
                fmt.append("I")
                count += 1
                name, kind, sub = sch.by_index.get(raw_type & codec.NLA_TYPE_MASK,
                                                   ("", "skip", None))
                body = length - 4
                if kind == "nested" and prefix + name not in opaque:
                    if not walk(sub, offset + 4, offset + length, f"{prefix}{name}."):
                        return False
                    body = 0
                elif kind in _FORMATS and struct.calcsize(_FORMATS[kind]) <= body:
                    fmt.append(_FORMATS[kind])
                    where[prefix + name] = count
                    count += 1
                    body -= struct.calcsize(_FORMATS[kind])
                elif kind == "bytes" and body >= 16:     # an address: union nf_inet_addr
                    fmt.append("16s")
                    where[prefix + name] = count
                    count += 1
                    body -= 16
                elif kind not in ("skip", "nested"):
                    return False
                pad = body + min(step, end - offset) - length
                fmt.append(f"{pad}x" if pad else "")
                offset += step
            return True

        end = len(message)
        if not walk(MESSAGE, codec.REPLY_START, end, "") or not all(n in where for n in _NEEDED):
            return None
        layout = cls("".join(fmt), headers, header_at, where, counters, count)
        return layout if layout.struct.size == end else None

    def build(self, columns: list[tuple], n: int) -> list[RealServerInfo]:
        """The RealServerInfo of `n` messages from their unpacked values, a column (tuple)
        per value. Column at a time, with map() and zip(): no Python code runs per real
        server (a table read does this thousands of times over), and the model's
        NamedTuples are made by tuple.__new__ from values that are already canonical."""
        if self.missing:
            columns = [*columns, (0,) * n]
        (addr, port, fwd, weight, family, u_thresh, l_thresh, active, inactive, persist,
         tun_type, tun_port, tun_flags) = self.fields_of(columns)
        if family.count(socket.AF_INET) == n:
            addresses: Iterable[str] = map(_ntop, repeat(socket.AF_INET), map(_FIRST_4, addr))
        else:
            addresses = map(addr_str, addr, family)
        servers = map(_tuple_new, repeat(RealServer), zip(
            addresses, _converted(port, _ntohs), _converted(fwd, method_name), weight, u_thresh,
            l_thresh, _converted(tun_type, tunnel_type_name), _converted(tun_port, _ntohs),
            tun_flags, strict=True))
        stats: Iterable[Stats | None] = repeat(None, n)
        if self.counters_of is not None:
            stats = map(_tuple_new, repeat(Stats), zip(*self.counters_of(columns), strict=True))
        return list(map(_tuple_new, repeat(RealServerInfo), zip(
            servers, active, inactive, persist, stats, strict=True)))


def _converted(column: tuple, convert: Callable[[Any], Any]) -> Iterable:
    """convert() of each value; called once for a column of one value (as most are: a
    service's real servers mostly share a port, a method and tunnel settings)."""
    if column.count(column[0]) == len(column):
        return repeat(convert(column[0]), len(column))
    return map(convert, column)


# The kernel writes every dest with the same attributes, so a layout learnt once serves
# every later dump of this process (each message is still checked against it).
_LAYOUTS: dict[tuple[int, bool], _Layout] = {}


# A bulk reader: decodes the run of replies at the start of a datagram into the list, and
# returns the offset of the first message it left (see DestDecoder.run).
Bulk = Callable[[memoryview, list, int], int]


class DestDecoder:
    """The RealServerInfo of each message of a GET_DEST dump from IPVS family `family_id`.
    A run of messages with a learnt layout costs one struct.iter_unpack; anything else
    (other layouts, malformed messages) goes through the generic decoder."""

    def __init__(self, default_family: str, family_id: int, stats: bool = True) -> None:
        self.default_family = default_family
        self.family_id = family_id
        self.stats = stats
        self._unlearnable: set[int] = set()

    def run(self, view: memoryview, out: list, seq: int) -> int:
        """Decode the replies to request `seq` at the start of `view` for as long as they
        have one layout, appending them to `out`; the offset of the first message not
        decoded."""
        if len(view) < codec.NLMSG_HDR.size:
            return 0
        size = _U32.unpack_from(view)[0]
        if size % 4 or not codec.NLMSG_HDR.size <= size <= len(view):
            return 0
        layout = _LAYOUTS.get((size, self.stats))
        done = self._run(layout, view, size, out, seq) if layout is not None else 0
        if done or size in self._unlearnable:
            return done
        # the first message lacks the layout known for its size (or none is known): learn it
        layout = _Layout.learn(view[:size], self.stats)
        if layout is None:          # not a dest: this dump's other messages of this size
            self._unlearnable.add(size)     # are not tried again
            return 0
        _LAYOUTS[size, self.stats] = layout
        return self._run(layout, view, size, out, seq)

    def _run(self, layout: _Layout, view: memoryview, size: int, out: list, seq: int) -> int:
        expected = (size, self.family_id, codec.NLM_F_MULTI, seq, *layout.headers)
        rows = list(layout.struct.iter_unpack(view[:len(view) // size * size]))
        if not rows:
            return 0
        columns = list(zip(*rows, strict=True))
        n = len(rows)
        # every message of the run has the expected headers: each header column holds n
        # times its expected value (a count can be no more than n)
        if sum(map(tuple.count, layout.header_of(columns), expected)) != n * len(expected):
            n = next(r for r, row in enumerate(rows) if layout.header_of(row) != expected)
            columns = list(zip(*rows[:n], strict=True))
        if n:
            out += layout.build(columns, n)
        return n * size

    def __call__(self, message: memoryview) -> RealServerInfo | None:
        """One whole reply message (None: it has no dest)."""
        out: list[RealServerInfo] = []
        if len(message) >= codec.NLMSG_HDR.size and self.run(
                message, out, _U32.unpack_from(message, 12)[0]):
            return out[0]
        items = decode(message)
        info = dest_from(items["dest"], self.default_family) if "dest" in items else None
        return info._replace(stats=None) if info is not None and not self.stats else info
