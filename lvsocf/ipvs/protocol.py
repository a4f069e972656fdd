"""IPVS generic-netlink protocol definition: a mirror of linux/ip_vs.h as plain tables.

Only data: command numbers and, per attribute set, each attribute's name and kind in number
order (index 0 is the UNSPEC slot). lvsocf.ipvs.codec reads these tables; nothing here imports
pyroute2 (whose `ipvsmsg` types the daemon and timeout attributes as opaque hex and the service
netmask as an IPv4 address, and whose import alone costs seconds under TCG).
"""
from __future__ import annotations

GENL_NAME = "IPVS"
GENL_VERSION = 1

CMD_NEW_SERVICE, CMD_SET_SERVICE, CMD_DEL_SERVICE, CMD_GET_SERVICE = 1, 2, 3, 4
CMD_NEW_DEST, CMD_SET_DEST, CMD_DEL_DEST, CMD_GET_DEST = 5, 6, 7, 8
CMD_NEW_DAEMON, CMD_DEL_DAEMON, CMD_GET_DAEMON = 9, 10, 11
CMD_SET_CONFIG, CMD_GET_CONFIG = 12, 13
CMD_SET_INFO, CMD_GET_INFO = 14, 15
CMD_ZERO, CMD_FLUSH = 16, 17

DAEMON_STATES = {"master": 1, "backup": 2}   # IP_VS_STATE_MASTER / IP_VS_STATE_BACKUP


class Table:
    """One attribute set: `fields` are (name, kind) for attribute numbers 1, 2, ...

    kind: u8/u16/u32/u64 (host order), be16/be32, asciiz, bytes, ip4, ip6, a nested Table,
    or a struct format string (a fixed C struct, e.g. the service flags)."""

    def __init__(self, name: str, *fields: tuple[str, object]) -> None:
        self.name = name
        self.fields = fields


def _stats(width: str) -> Table:
    return Table("stats", ("conns", width), ("inpkts", width), ("outpkts", width),
                 ("inbytes", "u64"), ("outbytes", "u64"), ("cps", width), ("inpps", width),
                 ("outpps", width), ("inbps", width), ("outbps", width))


STATS, STATS64 = _stats("u32"), _stats("u64")

SERVICE = Table(
    "service",
    ("af", "u16"),
    ("protocol", "u16"),
    ("addr", "bytes"),          # always 16 bytes (nf_inet_addr)
    ("port", "be16"),
    ("fwmark", "u32"),
    ("sched_name", "asciiz"),
    ("flags", "=II"),           # struct ip_vs_flags: flags, mask
    ("timeout", "u32"),
    ("netmask", "be32"),        # IPv4 mask bits, or IPv6 prefix length in host order
    ("stats", STATS),
    ("pe_name", "asciiz"),
    ("stats64", STATS64),
)

DEST = Table(
    "dest",
    ("addr", "bytes"),
    ("port", "be16"),
    ("fwd_method", "u32"),
    ("weight", "u32"),
    ("u_thresh", "u32"),
    ("l_thresh", "u32"),
    ("active_conns", "u32"),
    ("inact_conns", "u32"),
    ("persist_conns", "u32"),
    ("stats", STATS),
    ("addr_family", "u16"),
    ("stats64", STATS64),
    ("tun_type", "u8"),
    ("tun_port", "be16"),
    ("tun_flags", "u16"),
)

DAEMON = Table(
    "daemon",
    ("state", "u32"),
    ("mcast_ifn", "asciiz"),
    ("sync_id", "u32"),
    ("sync_maxlen", "u16"),
    ("mcast_group", "ip4"),
    ("mcast_group6", "ip6"),
    ("mcast_port", "u16"),      # host order, unlike the other ports
    ("mcast_ttl", "u8"),
)

# Every IPVS command and reply except GET_INFO (whose attribute numbers collide).
MESSAGE = Table(
    "message",
    ("service", SERVICE),
    ("dest", DEST),
    ("daemon", DAEMON),
    ("timeout_tcp", "u32"),
    ("timeout_tcp_fin", "u32"),
    ("timeout_udp", "u32"),
)

INFO = Table("info", ("version", "u32"), ("conn_tab_size", "u32"))

# The part of the generic-netlink controller needed to find the IPVS family id.
CTRL = Table("ctrl", ("family_id", "u16"), ("family_name", "asciiz"))
