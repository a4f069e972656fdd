"""Network-namespace topologies for tests and the demo: hosts, veth links, a bridge "switch".

Everything is created with `ip` argv calls and lives only inside namespaces made here.
"""
from __future__ import annotations

import ctypes
import os
import subprocess
from collections.abc import Sequence

CLONE_NEWNET = 0x40000000


def run(argv: Sequence[str], check: bool = True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), check=check, capture_output=True, text=True, **kw)


def unshare_net() -> None:
    """Move this process into a new, empty network namespace with lo up."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET)")
    run(["ip", "link", "set", "lo", "up"])


def ns_exec(ns: str, argv: Sequence[str]) -> list[str]:
    return ["ip", "netns", "exec", ns, *argv]


class Topology:
    """Named namespaces joined by veth pairs or a bridge; torn down by close()."""

    def __init__(self, prefix: str = "t") -> None:
        self.prefix = prefix
        self.namespaces: list[str] = []
        self.procs: list[subprocess.Popen] = []
        self._ports = 0     # never reuse a port name: a deleted namespace's veths linger

    def host(self, name: str, forward: bool = False) -> str:
        ns = f"{self.prefix}{name}"
        run(["ip", "netns", "add", ns])
        self.namespaces.append(ns)
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        if forward:
            self.sysctl(ns, "net.ipv4.ip_forward", "1")
            self.sysctl(ns, "net.ipv6.conf.all.forwarding", "1")
        return ns

    def sysctl(self, ns: str, key: str, value: str) -> None:
        run(ns_exec(ns, ["sysctl", "-qw", f"{key}={value}"]))

    def bridge(self, name: str) -> str:
        """A switch: a bridge inside its own namespace."""
        ns = self.host(name)
        run(["ip", "-n", ns, "link", "add", "br0", "type", "bridge"])
        run(["ip", "-n", ns, "link", "set", "br0", "up"])
        return ns

    def plug(self, ns: str, switch: str, ifname: str, *addresses: str) -> str:
        """Connect ns to the switch's bridge with a veth named ifname inside ns."""
        self._ports += 1
        peer = f"p{self._ports}{ifname}"[:15]
        tmp = f"t{os.getpid() % 100000}{peer}"[:15]
        run(["ip", "link", "add", tmp, "type", "veth", "peer", "name", peer])
        run(["ip", "link", "set", tmp, "netns", ns, "name", ifname])
        run(["ip", "link", "set", peer, "netns", switch])
        run(["ip", "-n", switch, "link", "set", peer, "master", "br0", "up"])
        self.address(ns, ifname, *addresses)
        return peer

    def link(self, ns_a: str, if_a: str, ns_b: str | None, if_b: str) -> None:
        """A veth pair between two namespaces; ns_b None = this process's namespace."""
        peer = ["netns", ns_b] if ns_b else []
        run(["ip", "link", "add", if_b, *peer, "type", "veth", "peer", "name", if_a,
             "netns", ns_a])

    def address(self, ns: str | None, ifname: str, *addresses: str) -> None:
        """Addresses on an interface, and bring it up; ns None = this process's namespace."""
        where = ["-n", ns] if ns else []
        for addr in addresses:
            extra = ["nodad"] if ":" in addr else []
            run(["ip", *where, "addr", "add", addr, "dev", ifname, *extra])
        run(["ip", *where, "link", "set", ifname, "up"])

    def route(self, ns: str | None, *spec: str) -> None:
        run(["ip", *(["-n", ns] if ns else []), "route", "replace", *spec])

    def spawn(self, ns: str, argv: Sequence[str], **kw) -> subprocess.Popen:
        proc = subprocess.Popen(ns_exec(ns, argv), **kw)
        self.procs.append(proc)
        return proc

    def exec(self, ns: str, argv: Sequence[str], check: bool = True) -> subprocess.CompletedProcess:
        return run(ns_exec(ns, argv), check=check)

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for ns in reversed(self.namespaces):
            run(["ip", "netns", "del", ns], check=False)
        self.namespaces.clear()

    def __enter__(self) -> Topology:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
