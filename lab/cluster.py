"""Live Pacemaker/Corosync nodes in network namespaces (inside the lab VM, or any host).

Each node: a network namespace plugged into an "ha" switch (corosync, sync daemon) and any
other switches the caller wants, plus an anchor process (node.py) holding its private mount
and UTS namespaces. Commands run in a node with `nsenter -t ANCHOR -m -n -u`; daemons start
with a clean environment (`env -i`), as systemd would start them.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lab.netns import Topology, run
from lab.vm import CHECKOUT

CLEAN_ENV = ["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"]


@dataclass
class Node:
    name: str
    nodeid: int
    ring_addr: str
    ns: str
    root: Path
    anchor: subprocess.Popen | None = None
    ports: list[tuple[str, str]] = field(default_factory=list)   # (switch ns, port)
    plugs: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)

    def argv(self, argv: Sequence[str], wd: str | None = None) -> list[str]:
        """argv run in this node's namespaces. Entering its mount namespace resets the
        working directory to /: `wd` sets it (the checkout, for `python -m lab.X`: the lab
        is not installed anywhere)."""
        assert self.anchor is not None
        where = [f"--wd={wd}"] if wd else []
        return ["nsenter", "-t", str(self.anchor.pid), "-m", "-n", "-u", *where, "--", *argv]

    def run(self, argv: Sequence[str], check: bool = True, env: dict | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
        prefix = [*CLEAN_ENV, *(f"{k}={v}" for k, v in (env or {}).items())]
        return subprocess.run(self.argv([*prefix, *argv]), check=check, capture_output=True,
                              text=True, timeout=timeout)

    def spawn(self, argv: Sequence[str], env: dict | None = None) -> subprocess.Popen:
        prefix = [*CLEAN_ENV, *(f"{k}={v}" for k, v in (env or {}).items())]
        return subprocess.Popen(self.argv(["setsid", *prefix, *argv]),
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    def mount_ns(self) -> str:
        assert self.anchor is not None
        return os.readlink(f"/proc/{self.anchor.pid}/ns/mnt")


def corosync_conf(nodes: Sequence[Node], token_ms: int,
                  consensus_ms: int | None = None) -> str:
    """consensus_ms None: corosync's default, 1.2 x token."""
    node_blocks = "".join(
        f"    node {{\n        ring0_addr: {n.ring_addr}\n        name: {n.name}\n"
        f"        nodeid: {n.nodeid}\n    }}\n" for n in nodes)
    two_node = "    two_node: 1\n" if len(nodes) == 2 else ""
    consensus = "" if consensus_ms is None else f"    consensus: {consensus_ms}\n"
    return (
        "totem {\n    version: 2\n    cluster_name: lvsocf-lab\n    transport: knet\n"
        "    crypto_cipher: none\n    crypto_hash: none\n"
        f"    token: {token_ms}\n    token_coefficient: 0\n{consensus}}}\n"
        f"nodelist {{\n{node_blocks}}}\n"
        f"quorum {{\n    provider: corosync_votequorum\n{two_node}}}\n"
        "logging {\n    to_logfile: yes\n    logfile: /var/log/corosync/corosync.log\n"
        "    to_stderr: no\n    to_syslog: no\n    timestamp: on\n}\n")


class Cluster:
    def __init__(self, topo: Topology, workdir: Path, ha_switch: str, token_ms: int = 3000,
                 ha_prefix: str = "198.18.1.", ha_ifname: str = "ha0",
                 consensus_ms: int | None = None) -> None:
        self.ha_ifname = ha_ifname
        self.topo = topo
        self.workdir = workdir
        self.ha_switch = ha_switch
        self.token_ms = token_ms
        self.consensus_ms = consensus_ms
        self.ha_prefix = ha_prefix
        self.nodes: list[Node] = []

    def add_node(self, name: str) -> Node:
        nodeid = len(self.nodes) + 1
        ns = self.topo.host(name, forward=True)
        ring = f"{self.ha_prefix}{nodeid}"
        node = Node(name, nodeid, ring, ns, self.workdir / name)
        self.nodes.append(node)
        self.plug(node, self.ha_switch, self.ha_ifname, f"{ring}/24")
        return node

    def plug(self, node: Node, switch: str, ifname: str, *addresses: str) -> None:
        port = self.topo.plug(node.ns, switch, ifname, *addresses)
        node.ports.append((switch, port))
        node.plugs.append((switch, ifname, addresses))

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    # -- lifecycle
    def _start_anchor(self, node: Node) -> None:
        node.root.mkdir(parents=True, exist_ok=True)
        hosts = "127.0.0.1 localhost\n" + "".join(f"{n.ring_addr} {n.name}\n"
                                                   for n in self.nodes)
        (node.root / "hosts").write_text(hosts)
        node.anchor = subprocess.Popen(
            ["ip", "netns", "exec", node.ns, "unshare", "--mount", "--uts", "--propagation",
             "private", "--", sys.executable, "-m", "lab.node", node.name,
             str(node.root)], stdout=subprocess.PIPE, text=True, cwd=CHECKOUT)
        line = node.anchor.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"node {node.name} anchor failed to start")

    def start(self, cib_xml: str, timeout: float = 300) -> None:
        """Write corosync.conf and the seed CIB on every node, start the daemons, wait for a
        DC with every node online."""
        conf = corosync_conf(self.nodes, self.token_ms, self.consensus_ms)
        for node in self.nodes:
            if node.anchor is None:
                self._start_anchor(node)
            self.install_cib(node, cib_xml)
            (node.root / "etc-corosync" / "corosync.conf").write_text(conf)
            self.start_daemons(node)
        self.wait(lambda: self.online() == {n.name for n in self.nodes}, timeout,
                  "all nodes online with a DC")

    def install_cib(self, node: Node, cib_xml: str) -> None:
        cib = node.root / "lib-pacemaker" / "cib" / "cib.xml"
        for stale in cib.parent.glob("cib*"):
            stale.unlink()
        cib.write_text(cib_xml)
        st = os.stat(cib.parent)
        os.chown(cib, st.st_uid, st.st_gid)
        os.chmod(cib, 0o600)

    def start_daemons(self, node: Node) -> None:
        node.spawn(["corosync", "-f"])
        self.wait(lambda: node.run(["corosync-quorumtool", "-s"], check=False).returncode
                  in (0, 2), 60, f"corosync on {node.name}")
        node.spawn(["pacemakerd"], env={"PCMK_logfile": "/var/log/pacemaker/pacemaker.log"})

    def totem(self, node: Node) -> dict[str, int]:
        """The token and consensus (ms) corosync runs with on `node`, read back from its
        runtime map (not from the corosync.conf written)."""
        values = {}
        for key in ("token", "consensus"):
            out = node.run(["corosync-cmapctl", "-g", f"runtime.config.totem.{key}"]).stdout
            values[key] = int(out.rsplit("=", 1)[1])
        return values

    def online(self, via: Node | None = None) -> set[str]:
        """Names of the nodes Pacemaker reports online (with a DC elected)."""
        status = self.status(via)
        if status is None or status.find("summary/current_dc[@present='true']") is None:
            return set()
        return {n.get("name") for n in status.iterfind("nodes/node")
                if n.get("online") == "true"}

    def status(self, via: Node | None = None):
        from lxml import etree
        for node in [via] if via else self.alive():
            done = node.run(["crm_mon", "-1", "--output-as=xml"], check=False, timeout=60)
            if done.returncode == 0:
                return etree.fromstring(done.stdout.encode())
        return None

    def alive(self) -> list[Node]:
        return [n for n in self.nodes if n.anchor is not None and n.anchor.poll() is None]

    def wait(self, predicate: Callable[[], bool], timeout: float, what: str,
             interval: float = 1.0) -> float:
        start = time.monotonic()
        while True:
            try:
                if predicate():
                    return time.monotonic() - start
            except (subprocess.SubprocessError, OSError):
                pass
            if time.monotonic() - start > timeout:
                raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
            time.sleep(interval)

    def crash(self, node: Node) -> None:
        """A power cut: every process of the node dies and its switch ports go down. (The
        namespace keeps the VIP, the IPVS table and kernel sync threads, as a powered-off box
        keeps nothing, but with its ports down nothing of it is reachable.)"""
        for switch, port in node.ports:
            run(["ip", "-n", switch, "link", "set", port, "down"])
        mnt = node.mount_ns()
        for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
            try:
                if os.readlink(f"/proc/{pid}/ns/mnt") == mnt:
                    os.kill(int(pid), signal.SIGKILL)
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
        if node.anchor is not None:
            node.anchor.wait()
            node.anchor = None

    def restart(self, node: Node) -> None:
        """Boot a crashed node again: a fresh network namespace (no VIP, empty IPVS table, no
        sync daemon), a fresh /run, the same disk (its CIB copy), then corosync+pacemaker."""
        if node.anchor is not None:
            self.crash(node)
        run(["ip", "netns", "del", node.ns], check=False)
        self.topo.namespaces.remove(node.ns)
        self.topo.host(node.name, forward=True)
        plugs, node.plugs, node.ports = node.plugs, [], []
        for switch, ifname, addresses in plugs:
            self.plug(node, switch, ifname, *addresses)
        self._start_anchor(node)
        self.start_daemons(node)

    def close(self) -> None:
        for node in self.alive():
            self.crash(node)
