"""Network interfaces of this host's network namespace: whether one exists, and its IPv4
address (the SIOCGIFADDR ioctl, standard library only: cheap to import)."""
from __future__ import annotations

import errno
import fcntl
import socket
import struct

SIOCGIFADDR = 0x8915


def interface_exists(interface: str) -> bool:
    """In this network namespace (/sys/class/net shows the namespace sysfs was mounted in)."""
    try:
        socket.if_nametoindex(interface)
    except (OSError, ValueError):
        return False
    return True


def ipv4_address(interface: str) -> str | None:
    """The interface's primary IPv4 address (None if it has none); OSError if no interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            raw = fcntl.ioctl(sock.fileno(), SIOCGIFADDR,
                              struct.pack("256s", interface.encode()[:15]))
        except OSError as err:
            if err.errno == errno.EADDRNOTAVAIL:
                return None
            raise
    return socket.inet_ntoa(raw[20:24])
