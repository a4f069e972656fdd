"""check_type=dns: one hand-built DNS query over UDP (no resolver library).

Options: dns_query (name, default "."; an IP address with dns_type=PTR means its reverse name),
dns_type (A, AAAA, NS, SOA, MX, TXT, CNAME, PTR; default SOA), receive (regex searched in the
presentation text of each answer's RDATA, e.g. "192.0.2.10", "10 mx.example.", '"v=spf1').
Success: a well-formed reply with our id, the question echoed, RCODE NOERROR and, if receive is
set, a matching answer. Replies with another id are ignored (we keep waiting), like a resolver.
"""
from __future__ import annotations

import asyncio
import ipaddress
import secrets
import socket
import struct
from collections.abc import Mapping
from typing import Any, ClassVar

from .base import (
    CheckConfigError,
    CheckFailed,
    CheckResult,
    Target,
    TaskChecker,
    check_address,
    check_port,
    guarded,
    is_ipv6,
    parse_regex,
)
from .spec.dns import DnsOptions

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
CLASS_IN = 1
_HEADER = struct.Struct("!HHHHHH")


class Malformed(CheckFailed):
    pass


def encode_name(name: str) -> bytes:
    """Wire form of a dotted name ("." is the root). Raises ValueError if it cannot be one."""
    name = name.rstrip(".") if name != "." else ""
    out = bytearray()
    for label in name.split(".") if name else ():
        raw = label.encode("idna") if not label.isascii() else label.encode("ascii")
        if not 1 <= len(raw) <= 63:
            raise ValueError(f"label {label!r} must be 1-63 bytes")
        out.append(len(raw))
        out += raw
    out.append(0)
    if len(out) > 255:
        raise ValueError("name longer than 255 bytes")
    return bytes(out)


def build_query(qid: int, qname: bytes, qtype: int) -> bytes:
    # flags 0x0100: standard query, recursion desired (a resolver real server then answers).
    return _HEADER.pack(qid, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!HH", qtype, CLASS_IN)


def _label_text(raw: bytes) -> str:
    return "".join(chr(b) if 0x21 <= b <= 0x7E and b not in (0x2E, 0x5C, 0x22)
                   else f"\\{b:03d}" for b in raw)


def read_labels(msg: bytes, offset: int) -> tuple[list[bytes], int]:
    """Decode a possibly compressed name at offset: (raw labels, offset after the name)."""
    labels: list[bytes] = []
    end = None
    jumps = 0
    while True:
        if offset >= len(msg):
            raise Malformed("malformed reply (name past the end)")
        length = msg[offset]
        if length & 0xC0 == 0xC0:
            if offset + 1 >= len(msg) or jumps > 64:
                raise Malformed("malformed reply (bad name pointer)")
            if end is None:
                end = offset + 2
            offset = ((length & 0x3F) << 8) | msg[offset + 1]
            jumps += 1
            continue
        if length & 0xC0:
            raise Malformed("malformed reply (bad label type)")
        offset += 1
        if length == 0:
            break
        if offset + length > len(msg):
            raise Malformed("malformed reply (label past the end)")
        labels.append(msg[offset:offset + length])
        offset += length
    return labels, (end if end is not None else offset)


def read_name(msg: bytes, offset: int) -> tuple[str, int]:
    """Presentation text of the name at offset (trailing dot) and the offset after it."""
    labels, end = read_labels(msg, offset)
    return ".".join(_label_text(label) for label in labels) + ".", end


def _strings(rdata: bytes) -> str:
    parts = []
    i = 0
    while i < len(rdata):
        n = rdata[i]
        chunk = rdata[i + 1:i + 1 + n]
        if len(chunk) != n:
            raise Malformed("malformed reply (TXT string)")
        text = "".join(chr(b) if 0x20 <= b <= 0x7E and b not in (0x22, 0x5C) else f"\\{b:03d}"
                       for b in chunk)
        parts.append(f'"{text}"')
        i += 1 + n
    return " ".join(parts)


def rdata_text(msg: bytes, rtype: int, start: int, length: int) -> str:
    """Presentation form of one record's RDATA (names may point anywhere in msg)."""
    rdata = msg[start:start + length]
    try:
        if rtype == 1 and length == 4:
            return str(ipaddress.IPv4Address(rdata))
        if rtype == 28 and length == 16:
            return str(ipaddress.IPv6Address(rdata))
        if rtype in (2, 5, 12):
            return read_name(msg, start)[0]
        if rtype == 15:
            (pref,) = struct.unpack_from("!H", msg, start)
            return f"{pref} {read_name(msg, start + 2)[0]}"
        if rtype == 6:
            mname, at = read_name(msg, start)
            rname, at = read_name(msg, at)
            numbers = struct.unpack_from("!IIIII", msg, at)
            return " ".join([mname, rname, *map(str, numbers)])
        if rtype == 16:
            return _strings(rdata)
    except struct.error:
        raise Malformed("malformed reply (short RDATA)") from None
    return f"\\# {length} {rdata.hex()}"        # RFC 3597 form for anything else


def parse_reply(msg: bytes, qname: bytes, qtype: int) -> tuple[int, list[str]]:
    """(rcode, answer RDATA texts) of a reply whose id has already been checked."""
    if len(msg) < _HEADER.size:
        raise Malformed("malformed reply (short header)")
    _, flags, qd, an, _, _ = _HEADER.unpack_from(msg)
    if not flags & 0x8000:
        raise Malformed("malformed reply (not a response)")
    rcode = flags & 0x000F
    offset = _HEADER.size
    if qd:
        labels, offset = read_labels(msg, offset)
        if len(msg) < offset + 4:
            raise Malformed("malformed reply (short question)")
        rtype, rclass = struct.unpack_from("!HH", msg, offset)
        offset += 4
        wire = b"".join(bytes([len(label)]) + label for label in labels) + b"\0"
        if wire.lower() != qname.lower() or rtype != qtype or rclass != CLASS_IN:
            raise Malformed("reply is for another question")
        for _ in range(qd - 1):
            offset = read_name(msg, offset)[1] + 4
    elif rcode == 0:
        raise Malformed("malformed reply (no question)")
    answers: list[str] = []
    for _ in range(an if rcode == 0 else 0):
        offset = read_name(msg, offset)[1]
        if len(msg) < offset + 10:
            raise Malformed("malformed reply (short record)")
        rtype, _rclass, _ttl, length = struct.unpack_from("!HHIH", msg, offset)
        offset += 10
        if offset + length > len(msg):
            raise Malformed("malformed reply (RDATA past the end)")
        answers.append(rdata_text(msg, rtype, offset, length))
        offset += length
    return rcode, answers


class DnsChecker(TaskChecker):
    kind: ClassVar[str] = "dns"

    def __init__(self, target: Target, options: DnsOptions | Mapping[str, Any]) -> None:
        opts = DnsOptions.of(options)
        self.address = check_address(target)
        self.port = check_port(target, 53)
        self.family = socket.AF_INET6 if is_ipv6(self.address) else socket.AF_INET
        type_name = (opts.dns_type or "SOA").upper()
        if type_name not in TYPES:
            raise CheckConfigError(
                f"dns_type: expected one of {', '.join(TYPES)}, got {type_name!r}")
        self.qtype = TYPES[type_name]
        query = opts.dns_query or "."
        if type_name == "PTR":
            try:
                query = ipaddress.ip_address(query).reverse_pointer
            except ValueError:
                pass
        try:
            self.qname = encode_name(query)
        except (ValueError, UnicodeError) as exc:
            raise CheckConfigError(f"dns_query: not a domain name: {exc}") from None
        self.receive = parse_regex("receive", opts.receive)

    async def check(self, timeout: float) -> CheckResult:
        ignored = [0]
        result = await guarded(lambda: self._probe(ignored), timeout,
                               timeout_detail=f"no reply within {timeout:g}s")
        if ignored[0] and not result.ok and result.detail.startswith("no reply"):
            result = CheckResult(False, result.latency,
                                 f"no matching reply within {timeout:g}s "
                                 f"({ignored[0]} with a wrong id ignored)")
        return result

    async def _probe(self, ignored: list[int]) -> str:
        loop = asyncio.get_running_loop()
        qid = secrets.randbits(16)
        with socket.socket(self.family, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            await loop.sock_connect(sock, (self.address, self.port))
            try:
                await loop.sock_sendall(sock, build_query(qid, self.qname, self.qtype))
                while True:
                    msg = await loop.sock_recv(sock, 65535)
                    if len(msg) >= 2 and int.from_bytes(msg[:2], "big") == qid:
                        break
                    ignored[0] += 1         # another id: stale or spoofed, keep waiting
            except ConnectionRefusedError:
                raise CheckFailed("port unreachable") from None
        rcode, answers = parse_reply(msg, self.qname, self.qtype)
        if rcode != 0:
            raise CheckFailed(f"rcode {RCODES.get(rcode, rcode)}")
        if self.receive is not None and not any(self.receive.search(a) for a in answers):
            raise CheckFailed(f"no answer matches receive ({len(answers)} answers)")
        return f"NOERROR, {len(answers)} answers"
