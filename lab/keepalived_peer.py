"""keepalived as the peer of bench/failover: the failover lab (lab.failover.Lab: two
directors on the "lan" and "ha" switches, two DR real servers with the TLS/echo backends, a
client running lab.traffic) with keepalived instead of Pacemaker on the directors.

Each director runs one keepalived (VRRP plus its LVS table) in its own namespaces. Both start
as VRRP BACKUP with nopreempt (node1 priority 150, node2 100): the first to time out becomes
master, and a returning director does not take the VIP back. Both keep the virtual server and
its real servers loaded and health-checked at all times (keepalived's hot standby); the sync
daemon follows the VRRP state (`lvs_sync_daemon eth1 VI_1`: master on the MASTER, backup on
the BACKUP). Failure detection is VRRP's: 3 x advert_int + skew, 3.6 s at advert_int 1 and
priority 100.

The health checks copy example 2's (https GET /health, virtualhost www.example.com, 200-299)
with IPVSRealServer's default timing: delay_loop = check_interval, connect_timeout =
check_timeout, retry = fall - 1 spaced by one interval, alpha (no traffic before the first
success, like initial_weight unset) and inhibit_on_failure (weight 0, like the quiescent
failure action). keepalived rises on one success (it has no rise count).

Sync sysctls: keepalived sets none, so by default its directors run the kernel's
(sync_threshold "3 50", sync_refresh_period 0); `sync="lvsocf"` gives them IPVSSync's defaults
("0 0", refresh 10 s, retries 0) instead.

    python -m lab.keepalived_peer [--sync kernel|lvsocf] [--json FILE]   (in the VM)
"""
from __future__ import annotations

import json
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from lab import example, failover
from lab.cluster import Cluster, Node
from lab.example import HA_IF, LAN_IF, PORT, REAL_SERVERS, REPO, SITE_NAME, VIP
from lab.netns import run
from lvsocf.agents import realserver, sync
from lvsocf.ipvs import proc
from lvsocf.ipvs.model import ServiceKey

KEEPALIVED = "keepalived"
INSTANCE = "VI_1"
VRID = 51
SYNC_ID = 20                 # example 2's IPVSSync syncid
ADVERT_INT = 1
PRIORITY = {"node1": 150, "node2": 100}
CHECK_PATH, CHECK_STATUS = "/health", "200-299"      # example 2's request and status_codes
SYNC_SYSCTLS = ("sync_threshold", "sync_refresh_period", "sync_retries")


def _defaults(params: Sequence) -> dict:
    return {p.name: p.default_value for p in params if p.default_value is not None}


def check_timing() -> dict[str, int]:
    """keepalived's checker timing equal to IPVSRealServer's defaults."""
    d = _defaults(realserver.PARAMETERS)
    interval = round(d["check_interval"])
    return {"delay_loop": interval, "connect_timeout": round(d["check_timeout"]),
            "retry": d["fall"] - 1, "delay_before_retry": interval}


def sync_sysctls(kind: str) -> dict[str, str]:
    """The net.ipv4.vs.* sync sysctls a keepalived director gets: none ("kernel": keepalived
    leaves the kernel's defaults) or IPVSSync's defaults ("lvsocf")."""
    if kind == "kernel":
        return {}
    if kind != "lvsocf":
        raise ValueError(f"sync sysctls {kind!r}: kernel or lvsocf")
    values = sync.sysctls(_defaults(sync.PARAMETERS), promoted=False)
    return {f"net.ipv4.vs.{k}": str(values[k]) for k in SYNC_SYSCTLS}


def keepalived_conf(name: str, priority: int, timing: Mapping[str, int],
                    rips: Sequence[str] = REAL_SERVERS) -> str:
    real_servers = "".join(f"""
    real_server {rip} {PORT} {{
        weight 1
        SSL_GET {{
            url {{
                path {CHECK_PATH}
                status_code {CHECK_STATUS}
            }}
            virtualhost {SITE_NAME}
            connect_timeout {timing['connect_timeout']}
            retry {timing['retry']}
            delay_before_retry {timing['delay_before_retry']}
        }}
    }}""" for rip in rips)
    return f"""# lvsocf bench/failover: keepalived peer on {name}
global_defs {{
    router_id {name}
    lvs_sync_daemon {HA_IF} {INSTANCE} id {SYNC_ID}
}}

vrrp_instance {INSTANCE} {{
    state BACKUP
    nopreempt
    interface {LAN_IF}
    virtual_router_id {VRID}
    priority {priority}
    advert_int {ADVERT_INT}
    virtual_ipaddress {{
        {VIP}/24 dev {LAN_IF}
    }}
}}

virtual_server {VIP} {PORT} {{
    delay_loop {timing['delay_loop']}
    lvs_sched wlc
    lvs_method DR
    protocol TCP
    alpha
    inhibit_on_failure
{real_servers}
}}
"""


class Directors(Cluster):
    """The lab cluster's director namespaces, anchors, crash and restart (a power cut, a
    reboot), with keepalived as each director's only daemon."""

    def __init__(self, *args, sync: str = "kernel", **kw) -> None:
        super().__init__(*args, **kw)
        self.sysctls = sync_sysctls(sync)
        self.timing = check_timing()
        self.rips: tuple[str, ...] = REAL_SERVERS

    def start_all(self) -> None:
        run(["modprobe", "ip_vs"])          # the net.ipv4.vs.* sysctls exist from here on
        for node in self.nodes:
            self._start_anchor(node)
            self.start_daemons(node)

    def start_daemons(self, node: Node) -> None:
        for key, value in self.sysctls.items():
            node.run(["sysctl", "-qw", f"{key}={value}"])
        conf = node.root / "keepalived.conf"
        conf.write_text(keepalived_conf(node.name, PRIORITY[node.name], self.timing,
                                        self.rips))
        pids = [f"/run/keepalived-{node.name}{kind}.pid" for kind in ("", "-vrrp", "-check")]
        argv = [KEEPALIVED, "-n", "-l", "-D", "-G", "-f", str(conf),
                "-p", pids[0], "-r", pids[1], "-c", pids[2]]
        log = node.root / "keepalived.log"
        node.spawn(["sh", "-c", 'exec "$@" >>"$0" 2>&1', str(log), *argv])

    # -- what a director has
    def has_vip(self, node: Node) -> bool:
        out = node.run(["ip", "-o", "addr", "show", "dev", LAN_IF], check=False).stdout
        return f" {VIP}/" in out

    def weights(self, node: Node) -> dict[str, int]:
        services = proc.parse_services(node.run(["cat", "/proc/net/ip_vs"]).stdout)
        key = ServiceKey("tcp", VIP, PORT)
        return {rs.address: rs.weight for s in services if s.matches(key)
                for rs in s.real_servers}

    def daemons(self, node: Node) -> set[str]:
        out = node.run(["ipvsadm", "-Ln", "--daemon"], check=False).stdout
        return {role for role in ("master", "backup") if f"{role} sync daemon" in out}

    def connections(self, node: Node) -> int:
        """Established connections to the VIP in this director's table."""
        conns = proc.parse_connections(node.run(["cat", "/proc/net/ip_vs_conn"]).stdout)
        return sum(1 for c in conns if c.virtual == VIP and c.state == "ESTABLISHED")

    def hot(self, node: Node) -> bool:
        weights = self.weights(node)
        return len(weights) == len(self.rips) and all(weights.values())

    def master(self) -> Node | None:
        """The one director holding the VIP, with both directors hot and their sync daemons
        in their VRRP roles."""
        alive = self.alive()
        holders = [n for n in alive if self.has_vip(n)]
        if len(holders) != 1 or not all(self.hot(n) for n in alive):
            return None
        roles_ok = all("master" in self.daemons(n) if n is holders[0]
                       else self.daemons(n) == {"backup"} for n in alive)
        return holders[0] if roles_ok else None

    def log_tail(self, node: Node, lines: int = 40) -> str:
        log = node.root / "keepalived.log"
        text = log.read_text(errors="replace") if log.exists() else "(no log)"
        return "\n".join(text.splitlines()[-lines:])


class KeepalivedLab(failover.Lab):
    """failover.Lab's topology (built by Lab.build) on keepalived directors."""

    def __init__(self, workdir: Path, say: Callable[[str], None], sync: str = "kernel") -> None:
        super().__init__(workdir, say)
        self.cluster: Directors = Directors(self.topo, workdir, self.ha, ha_ifname=HA_IF,
                                            sync=sync)

    def diagnostics(self, lines: int = 40) -> str:
        out = []
        for node in self.cluster.nodes:
            out.append(f"--- {node.name} keepalived log")
            out.append(self.cluster.log_tail(node, lines))
            if node in self.cluster.alive():
                out.append(node.run(["ipvsadm", "-Ln", "--daemon"], check=False).stdout)
                out.append(node.run(["ipvsadm", "-Ln"], check=False).stdout)
        return "\n".join(out)


def watch_takeover(node: Node, crash: Callable[[], None], timeout: float,
                   grace: float, real_servers: int) -> tuple[float, dict[str, float]]:
    """Start lab.watch on `node`, wait until it sees the (hot) table, crash(); return
    the crash time and piece -> seconds after it (pieces up before the crash come out
    negative). Stops `grace` seconds after the VIP if keepalived's sync master has not shown
    by then."""
    watch = subprocess.Popen(node.argv([
        sys.executable, "-m", "lab.watch", VIP, str(PORT), "--real-servers",
        str(real_servers), "--timeout", str(timeout)], wd=str(REPO)),
        stdout=subprocess.PIPE, text=True)
    lines: queue.Queue[dict | None] = queue.Queue()

    def reader() -> None:
        for line in watch.stdout:
            up = json.loads(line) if line.startswith("{") else {}
            if "up" in up:
                lines.put(up)
        lines.put(None)

    threading.Thread(target=reader, daemon=True).start()
    seen: dict[str, float] = {}
    crash_at = None
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if crash_at is None and "real_servers" in seen:
                crash_at = time.time()
                crash()
                deadline = time.monotonic() + timeout
            try:
                up = lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if up is None:
                break
            seen[up["up"]] = up["t"]
            if "vip" in seen and crash_at is not None:
                deadline = min(deadline, time.monotonic() + grace)
    finally:
        watch.kill()
        watch.wait()
    if crash_at is None:
        raise TimeoutError(f"the watch on {node.name} never saw the table: {seen}")
    return crash_at, {piece: round(t - crash_at, 2) for piece, t in seen.items()}


def run_scenario(say: Callable[[str], None], *, active: int = 4, idle: int = 12,
                 keepalive: float = 10.0, settle: float = 40.0, sync: str = "kernel",
                 rejoin: bool = True, real_servers: int = 2) -> failover.Result:
    """Both directors up (VIP on one, both tables hot), client traffic, a power cut of the
    master; the VIP, the client pause and the connections kept on the backup. With rejoin,
    the crashed director boots again and must not disturb anything (nopreempt)."""
    timeline = failover.Timeline()

    def stamped(message: str) -> None:
        say(f"[{time.time() - timeline.t0:6.1f}s] {message}")

    with tempfile.TemporaryDirectory(prefix="lvsocf-keepalived-") as tmp:
        lab = KeepalivedLab(Path(tmp), stamped, sync)
        lab.rips = lab.cluster.rips = REAL_SERVERS + example.extra_addresses(real_servers)
        try:
            return _scenario(lab, timeline, stamped, active, idle, keepalive, settle, rejoin)
        except (TimeoutError, RuntimeError, subprocess.SubprocessError):
            stamped("the keepalived scenario failed; logs:\n" + lab.diagnostics())
            raise
        finally:
            lab.close()


def _scenario(lab: KeepalivedLab, timeline: failover.Timeline, say: Callable[[str], None],
              active: int, idle: int, keepalive: float, settle: float,
              rejoin: bool) -> failover.Result:
    directors = lab.cluster
    say(f"building: 2 directors (keepalived), {len(lab.rips)} DR real servers, 1 client; "
        "sync sysctls: "
        + (", ".join(f"{k}={v}" for k, v in directors.sysctls.items()) or "kernel defaults"))
    lab.build()
    directors.start_all()
    directors.wait(lambda: directors.master() is not None, 300,
                   "a VRRP master with the VIP, both tables hot, sync daemons in their roles")
    master = directors.master()
    assert master is not None
    backup = next(n for n in directors.nodes if n is not master)
    timeline.mark(f"VIP on {master.name}, both directors hot")
    say(f"VIP on {master.name}; starting {active} active + {idle} idle connections")
    lab.start_traffic(active, idle, keepalive)
    events = lab.traffic_events(lambda e: e["kind"] == "started", 60)
    say(f"letting connections settle and sync ({settle:.0f}s)")
    steady = failover.steady_cpu(lab, settle)
    say(f"steady state: the directors used {steady} CPU seconds per second")
    synced = {"master": directors.connections(master), "backup": directors.connections(backup)}
    say(f"established connections: {synced['master']} on {master.name}, "
        f"{synced['backup']} synced to {backup.name}")

    crash_at, took = watch_takeover(backup, lambda: directors.crash(master), timeout=300,
                                    grace=60, real_servers=len(lab.rips))
    timeline.mark(f"{master.name} killed (SIGKILL of all its processes, its links cut)",
                  crash_at)
    if "vip" not in took:
        raise TimeoutError(f"the VIP never came up on {backup.name}: {took}")
    for piece, secs in took.items():
        timeline.mark(f"{piece.replace('_', ' ')} up on {backup.name}", crash_at + secs)
    say(f"{backup.name} took over: {took}")
    time.sleep(max(keepalive * 2, 20))           # every idle connection speaks again
    events += lab.pending_events()
    phases = {"failover": failover.phase_losses(events)}
    phases["failover"]["pause"] = failover.client_pause(events, crash_at)
    phases["failover"]["synced"] = synced
    phases["steady"] = {"cpu": steady, "real_servers": len(lab.rips)}
    say(f"after failover: {len(phases['failover']['broken'])} connections lost, client "
        f"pause {phases['failover']['pause']}s")
    if rejoin:
        say(f"{master.name} comes back (fresh namespace, empty table; nopreempt: stays backup)")
        rejoin_at = time.time()
        directors.restart(master)
        directors.wait(lambda: directors.master() is backup, 300,
                       f"{master.name} hot as backup, the VIP still on {backup.name}")
        timeline.mark(f"{master.name} rejoined, hot, backup")
        say(f"{master.name} hot as backup after {time.time() - rejoin_at:.1f}s")
        time.sleep(max(keepalive * 2, 20))
        phases["rejoin"] = failover.phase_losses(lab.pending_events())
    clients = lab.stop_traffic()
    timeline.mark("client traffic stopped")
    return failover.Result(timeline, took, {}, clients, phases)


def main(argv: list[str] | None = None) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog="python -m lab.keepalived_peer",
                                     description="The keepalived failover scenario (in the VM).")
    parser.add_argument("--sync", choices=("kernel", "lvsocf"), default="kernel")
    parser.add_argument("--settle", type=float, default=40.0)
    parser.add_argument("--no-rejoin", action="store_true")
    parser.add_argument("--json", type=Path, help="write the result here as JSON")
    opts = parser.parse_args(argv)
    from lab.netns import unshare_net
    unshare_net()
    result = run_scenario(lambda m: print(m, flush=True), settle=opts.settle, sync=opts.sync,
                          rejoin=not opts.no_rejoin)
    print(failover.report(result), flush=True)
    rejoin = result.phases.get("rejoin")
    if rejoin is not None:
        print(f"rejoin: {len(rejoin['broken'])} connections lost, new connections failed "
              f"for {rejoin['new_conn_outage']}s at most", flush=True)
    if opts.json:
        opts.json.write_text(json.dumps({"failover": result.failover, "phases": result.phases,
                                         "clients": result.clients}))
    return 0 if result.clients.get("kept") == result.clients.get("total") else 1


if __name__ == "__main__":
    sys.exit(main())
