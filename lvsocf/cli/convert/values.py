"""Small value parsers shared by the ldirectord and keepalived readers."""

from __future__ import annotations

import ipaddress
import re
import shlex
import socket

from .mapping import LD_SERVICE_PORT

_TIMER_RE = re.compile(r"^\d+(\.\d+)?$")


def source_lines(text: str) -> list[str]:
    """Lines as editors number them: split on \n only (a CR before it is dropped)."""
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


def ip_family(text: str) -> str | None:
    """'inet' / 'inet6' for a literal IP address, None otherwise."""
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    return "inet6" if addr.version == 6 else "inet"


def normalize_ip(text: str) -> str:
    return str(ipaddress.ip_address(text))


def parse_int(text: str, lo: int, hi: int) -> int | None:
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        return None
    value = int(text)
    return value if lo <= value <= hi else None


def parse_timer(text: str) -> str | None:
    """Seconds, integer or decimal; normalised (``"3.0"`` -> ``"3"``)."""
    if not text.isascii() or len(text) > 20 or not _TIMER_RE.match(text):
        return None
    value = float(text)
    if value <= 0 or value > 86400 * 365:
        return None
    return str(int(value)) if value == int(value) else f"{value:g}"


def parse_port(text: str, protocol: str = "tcp") -> int | None:
    """A port number or a service name (ldirectord's names first, then /etc/services)."""
    if text.isascii() and text.isdigit():
        return parse_int(text, 1, 65535)
    if text in LD_SERVICE_PORT:
        return LD_SERVICE_PORT[text]
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,63}", text):
        return None
    try:
        return socket.getservbyname(text, "udp" if protocol == "udp" else "tcp")
    except OSError:
        return None


def host_port(address: str, port: int | None) -> str:
    """``addr[:port]`` with IPv6 addresses bracketed when a port follows."""
    if port is None:
        return address
    if ":" in address:
        return f"[{address}]:{port}"
    return f"{address}:{port}"


def is_netmask(text: str, family: str) -> bool:
    if family == "inet6":
        return parse_int(text, 1, 128) is not None
    try:
        ipaddress.IPv4Network(f"0.0.0.0/{text}")
    except ValueError:
        return False
    return bool(re.fullmatch(r"\d+\.\d+\.\d+\.\d+", text))


def keepalived_hex(words: list[str]) -> str | None:
    """keepalived HEX_STR: "Ab12f 3 456" -> "ab120f034506" (pairs, a lone digit is 0X).

    Returns None when a word is not hexadecimal (e.g. the X wildcard of require_reply).
    """
    out = []
    for word in words:
        if not re.fullmatch(r"[0-9A-Fa-f]+", word):
            return None
        for i in range(0, len(word), 2):
            out.append(word[i:i + 2].rjust(2, "0"))
    return "".join(out).lower()


def split_command(text: str) -> list[str]:
    """Split a command line into words (shell quoting rules, never a shell)."""
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    return words
