"""Two LVS directors in network namespaces, for the sync tests and the cluster demo.

    client ──┐ lan (bridge)  ┌── d1 ──┐ srv (bridge, NAT only) ┌── rs1
             └───────────────┤        ├────────────────────────┤
                             └── d2 ──┘                        └── rs2
                              d1, d2 also share the sync bridge (the sync daemons' link)

Addresses (prefix p, namespaces p+cl, p+d1, p+d2, p+rs1, p+rs2):
  lan  10.0.0.0/24: client .2, d1 .11, d2 .12, VIP .100; DR real servers .21, .22
  srv  10.0.1.0/24 (NAT): d1 .11, d2 .12, the real servers' gateway .254 (moves with the
       VIP), rs1 .21, rs2 .22
  sync 192.168.100.0/24: d1 .11, d2 .12 on interface sync0

DR real servers hold the VIP on lo (arp_ignore=1, arp_announce=2). With
``directors_serve=True`` (DR only) the directors are the real servers: the backup director
holds the VIP on lo, the active one on lan0, as IPaddr2 lvs_support does.

"Fail over" without Pacemaker: ``take_over(d)`` adds the service and its real servers, then
the VIP (and the NAT gateway) on d, in that order; ``release(d)`` undoes it; ``crash(d)``
cuts d off the network (its kernel state stays, like a power cut seen from outside);
``reboot(d)`` gives d a fresh namespace (empty IPVS table, default sysctls, no daemons).
Neighbour caches are flushed where a gratuitous ARP from IPaddr2 would update them.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lab.netns import ns_exec, run
from lvsocf.ipvs.proc import Connection, parse_connections

VIP = "10.0.0.100"
PORT = 80
GATEWAY = "10.0.1.254"
LAN_IF, SRV_IF, SYNC_IF = "lan0", "srv0", "sync0"
AGENTS = "/usr/lib/ocf/resource.d/lvsocf"

ECHO_SERVER = r"""
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(256)
def echo(c):
    try:
        while data := c.recv(4096):
            c.sendall(data)
    except OSError:
        pass
while True:
    c, _ = s.accept()
    threading.Thread(target=echo, args=(c,), daemon=True).start()
"""


@dataclass(frozen=True)
class Host:
    ns: str
    lan: str            # address on lan0 (DR real servers, client, directors)
    srv: str = ""       # address on srv0 (NAT)
    sync: str = ""      # address on sync0 (directors)


class Directors:
    """The topology; use as a context manager (everything is deleted on exit).

    Built with a few ``ip -batch`` runs instead of one ``ip`` process per step: under TCG
    every process start costs a noticeable fraction of a second.
    """

    def __init__(self, mode: str = "nat", prefix: str = "x", directors_serve: bool = False,
                 port: int = PORT) -> None:
        if mode not in ("nat", "dr"):
            raise ValueError("mode is nat or dr")
        if directors_serve and mode != "dr":
            raise ValueError("directors can be real servers in DR mode only")
        self.mode, self.prefix, self.port = mode, prefix, port
        self.directors_serve = directors_serve
        self.namespaces: list[str] = []
        self.ports: dict[str, list[tuple[str, str]]] = {}     # ns -> [(switch, peer)]
        self.servers: dict[str, subprocess.Popen] = {}
        self._links = 0
        p = prefix
        self.lan, self.sync = f"{p}lan", f"{p}sync"
        self.srv = f"{p}srv" if mode == "nat" else ""
        self.client = Host(f"{p}cl", "10.0.0.2")
        self.d1 = Host(f"{p}d1", "10.0.0.11", "10.0.1.11", "192.168.100.11")
        self.d2 = Host(f"{p}d2", "10.0.0.12", "10.0.1.12", "192.168.100.12")
        nat = mode == "nat"
        self.rs1 = Host(f"{p}rs1", "" if nat else "10.0.0.21", "10.0.1.21" if nat else "")
        self.rs2 = Host(f"{p}rs2", "" if nat else "10.0.0.22", "10.0.1.22" if nat else "")

    # -- building
    def __enter__(self) -> Directors:
        try:
            self.build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for proc in self.servers.values():
            _kill(proc)
        self.servers.clear()
        for ns in reversed(self.namespaces):
            run(["ip", "netns", "del", ns], check=False)
        self.namespaces.clear()

    @property
    def directors(self) -> tuple[Host, Host]:
        return self.d1, self.d2

    @property
    def real_servers(self) -> tuple[Host, ...]:
        return self.directors if self.directors_serve else (self.rs1, self.rs2)

    def build(self) -> None:
        switches = [ns for ns in (self.lan, self.sync, self.srv) if ns]
        hosts = [self.client, *self.directors]
        if not self.directors_serve:
            hosts += [self.rs1, self.rs2]
        top = [f"netns add {ns}" for ns in switches + [h.ns for h in hosts]]
        self.namespaces += switches + [h.ns for h in hosts]
        top += [f"link add br0 netns {ns} type bridge" for ns in switches]
        per_ns: dict[str, list[str]] = {ns: ["link set lo up"] for ns in self.namespaces}
        for ns in switches:
            per_ns[ns].append("link set br0 up")
        for host in hosts:
            self._host(host, top, per_ns)
        _ip_batch(None, top)
        for ns, lines in per_ns.items():
            _ip_batch(ns, lines)
        for host in hosts:
            self._sysctls(host)
        for host in self.real_servers:
            self._serve(host.ns)

    def _link(self, host: Host, switch: str, ifname: str, address: str, top: list[str],
              per_ns: dict[str, list[str]]) -> None:
        self._links += 1
        peer = f"{self.prefix}{self._links}{ifname}"[-15:]
        top.append(f"link add {ifname} netns {host.ns} type veth peer name {peer} "
                   f"netns {switch}")
        per_ns[switch] += [f"link set {peer} master br0", f"link set {peer} up"]
        per_ns[host.ns] += [f"addr add {address}/24 dev {ifname}", f"link set {ifname} up"]
        self.ports.setdefault(host.ns, []).append((switch, peer))

    def _host(self, host: Host, top: list[str], per_ns: dict[str, list[str]]) -> None:
        if host.lan:
            self._link(host, self.lan, LAN_IF, host.lan, top, per_ns)
        if host.srv and self.srv:
            self._link(host, self.srv, SRV_IF, host.srv, top, per_ns)
        if host.sync:
            self._link(host, self.sync, SYNC_IF, host.sync, top, per_ns)
        if host in self.real_servers and self.mode == "dr":
            per_ns[host.ns].append(f"addr add {VIP}/32 dev lo")
        if host in (self.rs1, self.rs2) and self.mode == "nat":
            per_ns[host.ns].append(f"route replace default via {GATEWAY}")

    def _sysctls(self, host: Host) -> None:
        values = []
        if host in self.directors:
            values += ["net.ipv4.ip_forward=1"]
            values += [f"net.ipv4.conf.{k}.rp_filter=0" for k in ("all", "default", LAN_IF)]
        if host in self.real_servers and self.mode == "dr":
            for key in ("all", LAN_IF):
                values += [f"net.ipv4.conf.{key}.arp_ignore=1",
                           f"net.ipv4.conf.{key}.arp_announce=2"]
        if values:
            self.exec(host.ns, ["sysctl", "-qw", *values])

    def _serve(self, ns: str) -> None:
        self.servers[ns] = subprocess.Popen(
            ns_exec(ns, [sys.executable, "-c", ECHO_SERVER, str(self.port)]))

    def wait_serving(self, timeout: float = 60) -> None:
        """Until every real server's echo server listens."""
        import time
        deadline = time.monotonic() + timeout
        for rs in self.real_servers:
            while f":{self.port} " not in self.exec(rs.ns, ["ss", "-Hltn"]).stdout + " ":
                if time.monotonic() > deadline:
                    raise TimeoutError(f"echo server in {rs.ns} did not start")
                time.sleep(0.2)

    # -- running things
    def exec(self, ns: str, argv: Sequence[str], check: bool = True,
             **kw) -> subprocess.CompletedProcess:
        return run(ns_exec(ns, argv), check=check, **kw)

    def ipvsadm(self, ns: str, *args: str) -> str:
        return self.exec(ns, ["ipvsadm", *args]).stdout

    def connections(self, ns: str) -> list[Connection]:
        """/proc/net/ip_vs_conn as the namespace sees it."""
        return parse_connections(self.exec(ns, ["cat", "/proc/net/ip_vs_conn"]).stdout)

    def link_packets(self, ns: str, ifname: str = LAN_IF) -> int:
        """Packets sent plus received on the interface so far."""
        shown = json.loads(run(["ip", "-n", ns, "-j", "-s", "link", "show", "dev",
                                ifname]).stdout)[0]["stats64"]
        return int(shown["rx"]["packets"]) + int(shown["tx"]["packets"])

    def agent_env(self, state_dir: str, params: Mapping[str, object],
                  extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The OCF environment Pacemaker would give an agent."""
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
               "OCF_ROOT": "/usr/lib/ocf", "OCF_RESOURCE_INSTANCE": "sync",
               "LVSOCF_STATE_DIR": state_dir, "OCF_RESKEY_CRM_meta_timeout": "60000"}
        env.update({f"OCF_RESKEY_{k}": str(v) for k, v in params.items()})
        env.update(extra or {})
        return env

    def agent(self, ns: str, agent: str, action: str, env: Mapping[str, str]) -> subprocess.Popen:
        """Start one agent action inside ns (wait() on it; stdout/stderr are pipes)."""
        return subprocess.Popen(ns_exec(ns, [f"{AGENTS}/{agent}", action]), env=dict(env),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    # -- failover
    def rip(self, rs: Host) -> str:
        """A real server's address as the service names it."""
        return rs.srv if self.mode == "nat" else rs.lan

    def service_rules(self) -> list[list[str]]:
        method = "-m" if self.mode == "nat" else "-g"
        vs = f"{VIP}:{self.port}"
        rules = [["-A", "-t", vs, "-s", "rr"]]
        for rs in self.real_servers:
            rules.append(["-a", "-t", vs, "-r", f"{self.rip(rs)}:{self.port}", method])
        return rules

    def add_service(self, d: Host) -> None:
        for rule in self.service_rules():
            self.ipvsadm(d.ns, *rule)

    def take_over(self, d: Host) -> None:
        """Service and real servers first, then the VIP (and NAT gateway): see DESIGN.md."""
        self.add_service(d)
        lines = [f"addr add {VIP}/24 dev {LAN_IF}"]
        if self.directors_serve:
            lines.insert(0, f"addr del {VIP}/32 dev lo")
        if self.mode == "nat":
            lines.append(f"addr add {GATEWAY}/24 dev {SRV_IF}")
        _ip_batch(d.ns, lines)
        self.flush_neighbours()

    def release(self, d: Host) -> None:
        """The reverse of take_over: VIP first, then the service."""
        lines = [f"addr del {VIP}/24 dev {LAN_IF}"]
        if self.mode == "nat":
            lines.append(f"addr del {GATEWAY}/24 dev {SRV_IF}")
        if self.directors_serve:
            lines.append(f"addr add {VIP}/32 dev lo")
        _ip_batch(d.ns, lines, check=False)
        self.exec(d.ns, ["ipvsadm", "-D", "-t", f"{VIP}:{self.port}"], check=False)

    def flush_neighbours(self) -> None:
        hosts = [self.client, *self.directors]
        if not self.directors_serve:
            hosts += [self.rs1, self.rs2]
        for host in hosts:
            run(["ip", "-n", host.ns, "neigh", "flush", "all"], check=False)

    def crash(self, d: Host) -> None:
        """Cut d off every link: seen from outside, the director is gone."""
        for switch, peer in self.ports.get(d.ns, []):
            run(["ip", "-n", switch, "link", "set", peer, "down"])

    def reboot(self, d: Host) -> None:
        """d comes back with a fresh network namespace: nothing of its old kernel state."""
        if proc := self.servers.pop(d.ns, None):
            _kill(proc)
        run(["ip", "netns", "del", d.ns])
        self.ports.pop(d.ns, None)
        top = [f"netns add {d.ns}"]
        per_ns: dict[str, list[str]] = {d.ns: ["link set lo up"], self.lan: [], self.sync: []}
        if self.srv:
            per_ns[self.srv] = []
        self._host(d, top, per_ns)
        _ip_batch(None, top)
        for ns, lines in per_ns.items():
            _ip_batch(ns, lines)
        self._sysctls(d)
        if d in self.real_servers:
            self._serve(d.ns)


def _ip_batch(ns: str | None, lines: Sequence[str], check: bool = True) -> None:
    if lines:
        argv = ["ip", *(["-n", ns] if ns else []), *([] if check else ["-force"]), "-batch", "-"]
        run(argv, check=check, input="\n".join(lines) + "\n")


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


POOL = r"""
import json, select, socket, sys, time
socks, dead = [], set()
def reply(obj):
    print(json.dumps(obj), flush=True)
def wait(pending, timeout, readable):
    deadline = time.monotonic() + timeout
    while pending and (left := deadline - time.monotonic()) > 0:
        r, w, _ = select.select([socks[i] for i in pending] if readable else [],
                                [] if readable else [socks[i] for i in pending], [], left)
        yield from (socks.index(s) for s in r + w)
for line in sys.stdin:
    cmd, *args = line.split()
    if cmd == "open":
        host, port, count, keepalive = args[0], int(args[1]), int(args[2]), int(args[3])
        pending = set()
        for _ in range(count):
            s = socket.socket()
            if keepalive:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, keepalive)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, keepalive)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 60)
            s.setblocking(False)
            s.connect_ex((host, port))
            socks.append(s)
            pending.add(len(socks) - 1)
        for i in wait(pending, float(args[4]), readable=False):
            pending.discard(i)
            if socks[i].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                dead.add(i)
        dead.update(pending)
        reply([s.getsockname()[1] for s in socks])
    elif cmd == "talk":
        word, pending = args[1], {}
        for i, s in enumerate(socks):
            if i in dead:
                continue
            try:
                s.send(f"{i} {word}\n".encode())
                pending[i] = b""
            except OSError:
                dead.add(i)
        ok = set()
        for i in wait(pending, float(args[0]), readable=True):
            try:
                data = socks[i].recv(4096)
            except OSError:
                data = b""
            if not data:
                dead.add(i)
                del pending[i]
                continue
            pending[i] += data
            if pending[i].endswith(b"\n"):
                if pending[i] == f"{i} {word}\n".encode():
                    ok.add(i)
                del pending[i]
        reply([i in ok for i in range(len(socks))])
    elif cmd == "close":
        for s in socks:
            s.close()
        reply(len(socks))
"""


class ClientPool:
    """N TCP connections held open from the client namespace.

    Connections that are not established within ``connect_timeout`` count as failed.
    ``talk()`` sends one line on every connection at once and returns, per connection,
    whether its echo came back before the timeout. A connection that failed once (reset,
    closed) stays failed. With ``keepalive`` K the connections send TCP keepalives every
    K seconds while idle (TCP_KEEPIDLE = TCP_KEEPINTVL = K).
    """

    def __init__(self, ns: str, address: str, port: int, count: int, keepalive: int = 0,
                 connect_timeout: float = 30) -> None:
        self.proc = subprocess.Popen(ns_exec(ns, [sys.executable, "-c", POOL]),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.local_ports: list[int] = self._ask(
            f"open {address} {port} {count} {keepalive} {connect_timeout:g}")

    def _ask(self, line: str):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            raise RuntimeError(f"client pool died on {line.split()[0]!r}")
        return json.loads(answer)

    def talk(self, word: str = "ping", timeout: float = 20) -> list[bool]:
        return self._ask(f"talk {timeout:g} {word}")

    def disconnect(self) -> None:
        """Close every connection (the client stops); the pool process stays."""
        self._ask("close")

    def close(self) -> None:
        _kill(self.proc)

    def __enter__(self) -> ClientPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
