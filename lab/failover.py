"""The failover scenario: two directors running Pacemaker/Corosync with the lvsocf agents,
DR real servers and a client, all in namespaces (inside the lab VM). Loads a crm
configuration (the shipped example 2 in its hot-standby layout, adapted in addresses only,
optionally with more real servers), kills the active director, measures how long each piece
takes to come up on the other one and which client connections survive; then brings the
director back: it reloads its table, warms up as sync backup and takes the service back by
its promotion score alone (a location rule for the Promoted role, no standby command).

Used by `make demo`, tests/installed/test_installed_failover.py and bench/failover.
"""
from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lab import backend
from lab.cluster import Cluster, Node
from lab.cpu import Meter
from lab.example import (
    CLIENT,
    HA_IF,
    LAB_WARMUP,
    LAN_IF,
    PORT,
    PREFERRED,
    REAL_SERVERS,
    REPO,
    SITE_NAME,
    VIP,
    Layout,
    _rip_of,
    extra_addresses,
    layout_of,
    params_of,
    use_agents,
)
from lab.netns import Topology
from lab.pacemaker_log import _log_size, actions_since, takeover_steps


@dataclass
class Timeline:
    events: list[tuple[float, str]] = field(default_factory=list)
    t0: float = field(default_factory=time.time)

    def mark(self, what: str, at: float | None = None) -> None:
        self.events.append(((at or time.time()) - self.t0, what))

    def lines(self) -> list[str]:
        return [f"  {t:7.1f}s  {what}" for t, what in sorted(self.events)]


class Lab:
    """Topology + cluster + real servers + client, torn down by close()."""

    def __init__(self, workdir: Path, say: Callable[[str], None], token_ms: int = 3000,
                 consensus_ms: int | None = None) -> None:
        self.say = say
        self.topo = Topology("lab")
        self.workdir = workdir
        self.lan = self.topo.bridge("lan")
        self.ha = self.topo.bridge("ha")
        self.cluster = Cluster(self.topo, workdir, self.ha, ha_ifname=HA_IF, token_ms=token_ms,
                               consensus_ms=consensus_ms)
        self.tls = backend.site_certificate(workdir, SITE_NAME)
        self.client = ""
        self.real_servers: dict[str, str] = {}     # address -> namespace
        self.rips: tuple[str, ...] = REAL_SERVERS
        self.backends: dict[str, subprocess.Popen] = {}   # namespace -> its server
        self.traffic: subprocess.Popen | None = None
        self._pending = b""         # client output read but not yet split into events

    def build(self) -> None:
        for name in ("node1", "node2"):
            node = self.cluster.add_node(name)
            self.cluster.plug(node, self.lan, LAN_IF, f"198.18.0.{node.nodeid}/24")
        self.client = self.topo.host("cli")
        self.topo.plug(self.client, self.lan, "eth0", f"{CLIENT}/24")
        for i, address in enumerate(REAL_SERVERS, start=1):
            ns = self.topo.host(f"rs{i}")
            # further real servers are more addresses of these two (one backend serves all)
            extra = self.rips[len(REAL_SERVERS) + i - 1::len(REAL_SERVERS)]
            self.topo.plug(ns, self.lan, "eth0", *(f"{a}/24" for a in (address, *extra)))
            self.topo.address(ns, "lo", f"{VIP}/32")       # DR: the VIP on lo, never ARPed
            for key, value in (("net.ipv4.conf.all.arp_ignore", "1"),
                               ("net.ipv4.conf.all.arp_announce", "2")):
                self.topo.sysctl(ns, key, value)
            self.start_backend(ns)
            self.real_servers.update({a: ns for a in (address, *extra)})

    def backend_state(self, ns: str) -> Path:
        """The backend's state directory (lab.backend): sick flag, accepted log."""
        path = self.workdir / f"backend-{ns}"
        path.mkdir(exist_ok=True)
        return path

    def set_sick(self, ns: str, sick: bool) -> None:
        """The backend fails its health check (503) but still accepts connections."""
        flag = self.backend_state(ns) / "sick"
        if sick:
            flag.touch()
        else:
            flag.unlink(missing_ok=True)

    def accepted(self, ns: str, since: float) -> list[float]:
        """When client connections reached this backend (counted by the backend itself)."""
        try:
            lines = (self.backend_state(ns) / "accepted").read_text().split()
        except FileNotFoundError:
            return []
        return [t for t in map(float, lines) if t >= since]

    def start_backend(self, ns: str) -> subprocess.Popen:
        proc = self.topo.spawn(ns, [sys.executable, "-m", "lab.backend", str(PORT),
                                    str(self.tls.cert), str(self.tls.key),
                                    str(self.backend_state(ns))], cwd=str(REPO))
        self.backends[ns] = proc
        deadline = time.monotonic() + 60
        while f":{PORT} " not in self.topo.exec(ns, ["ss", "-ltn"]).stdout:
            if time.monotonic() > deadline:
                raise RuntimeError(f"backend in {ns} did not start")
            time.sleep(0.2)
        return proc

    def start_traffic(self, active: int, idle: int, keepalive: float) -> None:
        self.traffic = self.topo.spawn(self.client, [
            sys.executable, "-m", "lab.traffic", VIP, str(PORT), "--active",
            str(active), "--idle", str(idle), "--keepalive", str(keepalive)],
            stdout=subprocess.PIPE, cwd=str(REPO))

    def traffic_events(self, until: Callable[[dict], bool], timeout: float) -> list[dict]:
        """Read client events until one satisfies `until` (or the timeout). Reads the pipe
        unbuffered: a buffered readline would hide lines from select() and hand them to a
        later phase."""
        assert self.traffic is not None and self.traffic.stdout is not None
        fd = self.traffic.stdout.fileno()
        events: list[dict] = []
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while True:
                while b"\n" in self._pending:
                    line, self._pending = self._pending.split(b"\n", 1)
                    event = json.loads(line)
                    events.append(event)
                    if until(event):
                        return events
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(timeout=left):
                    return events
                chunk = os.read(fd, 65536)
                if not chunk:
                    return events
                self._pending += chunk

    def pending_events(self) -> list[dict]:
        """The client events written so far (does not wait for more)."""
        return self.traffic_events(lambda e: False, 0.5)

    def stop_traffic(self) -> dict:
        assert self.traffic is not None
        self.traffic.terminate()
        events = self.traffic_events(lambda e: e["kind"] == "summary", 60)
        self.traffic.wait(timeout=30)
        return next((e for e in events if e["kind"] == "summary"), {})

    def placement(self, via: Node | None = None) -> dict[str, set[str]]:
        """resource id -> the nodes where it is active; a promoted clone instance also
        counts as "id:Promoted"."""
        status = self.cluster.status(via)
        placed: dict[str, set[str]] = {}
        if status is None:
            return placed
        for res in status.iter("resource"):
            if res.get("active") != "true":
                continue
            for node in res.iterfind("node"):
                placed.setdefault(res.get("id"), set()).add(node.get("name"))
                if res.get("role") in ("Promoted", "Master"):
                    placed.setdefault(res.get("id") + ":Promoted", set()).add(node.get("name"))
        return placed

    def diagnostics(self, lines: int = 60) -> str:
        """What an operator looks at first: crm_mon with fail counts and attributes (promotion
        scores; the real servers' health attributes are private, not in the CIB), then the
        errors, warnings and agent messages of each node's pacemaker.log."""
        out = []
        for node in self.cluster.alive():
            mon = node.run(["crm_mon", "-1", "-rfA"], check=False, timeout=60)
            out += [f"--- crm_mon on {node.name}", mon.stdout + mon.stderr]
        for node in self.cluster.nodes:
            log = node.root / "log-pacemaker" / "pacemaker.log"
            if not log.exists():
                continue
            keep = [line for line in log.read_text(errors="replace").splitlines()
                    if any(w in line for w in ("error", "warning", "lvsocf", "exit-reason",
                                               "IPVS", "IPaddr2"))]
            out += [f"--- {node.name} pacemaker.log (errors, warnings, agents)",
                    *keep[-lines:]]
        return "\n".join(out)

    def close(self) -> None:
        if self.traffic is not None and self.traffic.poll() is None:
            self.traffic.kill()
        self.cluster.close()
        self.topo.close()



@dataclass
class Result:
    timeline: Timeline
    failover: dict[str, float]            # piece -> seconds after the crash
    failback: dict[str, float]
    clients: dict
    # failover/failback -> losses; warm_health -> a backend failing its check, counted
    phases: dict[str, dict] = field(default_factory=dict)


def phase_losses(events: list[dict]) -> dict:
    """Connections broken and the longest outage of new connections, from client events."""
    broken = {e["conn"]: e["why"] for e in events if e["kind"] == "broken"}
    outages = [e["down"] for e in events if e["kind"] == "probe-recovered"]
    return {"broken": broken, "new_conn_outage": max(outages, default=0.0)}


def client_pause(events: Sequence[dict], crash_at: float, window: float = 30.0) -> float | None:
    """Seconds from the crash to the first new connection that succeeded after it (client
    events of lab.traffic). 0.0 when no probe failed within `window` seconds of the
    crash; None when probes failed and never recovered."""
    recovered = [e for e in events if e["kind"] == "probe-recovered" and e["t"] >= crash_at]
    failing = [e for e in events if e["kind"] == "probe-failing"
               and crash_at <= e["t"] <= crash_at + window]
    if recovered and recovered[0]["t"] - recovered[0]["down"] <= crash_at + window:
        return round(recovered[0]["t"] - crash_at, 2)
    return None if failing and not recovered else 0.0


def _attribute(lab: Lab, node: str, name: str) -> str | None:
    """`node`'s value of a private node attribute (never in the CIB, so not in crm_mon -A),
    as pacemaker-attrd on that node answers `attrd_updater -Q`."""
    from lxml import etree
    done = lab.cluster.node(node).run(
        ["attrd_updater", "-Q", "-n", name, "--output-as=xml"], check=False, timeout=30)
    if done.returncode != 0:
        return None
    found = etree.fromstring(done.stdout.encode()).find(f".//attribute[@host='{node}']")
    return None if found is None else found.get("value")


def parse_weights(ipvsadm_list: str) -> dict[str, int]:
    """Real server address -> weight, from `ipvsadm -Ln -t VIP:PORT`'s output."""
    found = {}
    for line in ipvsadm_list.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[0] == "->" and fields[1].endswith(f":{PORT}"):
            found[fields[1].rsplit(":", 1)[0]] = int(fields[3])
    return found


def _weights(lab: Lab, node: str) -> dict[str, int]:
    """Real server address -> its weight in the kernel of `node`, read with ipvsadm."""
    return parse_weights(lab.cluster.node(node).run(
        ["ipvsadm", "-Ln", "-t", f"{VIP}:{PORT}"], check=False).stdout)


def _weight(lab: Lab, node: str, rip: str) -> int | None:
    return _weights(lab, node).get(rip)


def _rise_time(cib: str, resource: str) -> float:
    """rise x check_interval of a real server (the agent's defaults where the CIB is silent)."""
    from lvsocf.agents.realserver import PARAMETERS
    defaults = {p.name: p.default for p in PARAMETERS}
    params = params_of(cib, resource)
    values = {name: params.get(name) or defaults[name]
              for name in ("rise", "check_interval")}
    return float(values["rise"]) * float(values["check_interval"])


def quiesce(lab: Lab, nodes: tuple[str, ...], resource: str, rip: str,
            say: Callable[[str], None], timeline: Timeline) -> float:
    """One real server's backend fails its health check (it still accepts connections): the
    engine of every director must quiesce it (weight 0, still in the table; hot standby keeps
    health warm on the backup too), its private node attribute must say down (and be absent
    from the CIB), and no other real server may change. Returns the seconds it took."""
    attr = f"lvsocf-{resource}"
    ns = lab.real_servers[rip]
    lab.set_sick(ns, True)
    t0 = time.time()
    timeline.mark(f"backend of {resource} ({rip}) fails its health check", t0)
    lab.cluster.wait(lambda: all(_weight(lab, n, rip) == 0 and _attribute(lab, n, attr) ==
                                 "down" for n in nodes), 300,
                     f"{resource} quiesced on {', '.join(nodes)} (weight 0, {attr}=down)")
    took = time.time() - t0
    status = lab.cluster.node(nodes[0]).run(["cibadmin", "-Q", "-o", "status"],
                                            timeout=60).stdout
    if f'name="{attr}"' in status:
        raise RuntimeError(f"{attr} was written to the CIB: a private attribute never is")
    others = {(n, a): _weight(lab, n, a) for n in nodes for a, where in
              lab.real_servers.items() if where != ns}
    if not all(others.values()):
        raise RuntimeError(f"quiescing {rip} touched another real server: {others}")
    timeline.mark(f"{resource} quiesced on every director: weight 0, {attr}=down")
    say(f"{resource} quiesced after {took:.1f}s on {', '.join(nodes)} (weight 0, "
        f"attrd: {attr}=down)")
    return round(took, 1)


def restore(lab: Lab, node: str, resource: str, rip: str, say: Callable[[str], None],
            timeline: Timeline) -> dict[str, float]:
    """The backend passes its check again: seconds until `node` gives it its weight back
    and until a new client connection reaches it (counted at the backend)."""
    attr = f"lvsocf-{resource}"
    ns = lab.real_servers[rip]
    lab.set_sick(ns, False)
    t0 = time.time()
    lab.cluster.wait(lambda: (_weight(lab, node, rip) or 0) > 0 and
                     _attribute(lab, node, attr) == "up", 300,
                     f"{resource} restored on {node} (weight back, {attr}=up)")
    weight_back = time.time() - t0
    lab.cluster.wait(lambda: bool(lab.accepted(ns, t0)), 120,
                     f"a new client connection at the backend of {resource}", interval=0.2)
    traffic = min(lab.accepted(ns, t0)) - t0
    timeline.mark(f"{resource} restored on {node}: weight back, new connections reach it")
    say(f"{resource} restored on {node} after {weight_back:.1f}s; its first new client "
        f"connection {traffic:.1f}s after its backend recovered")
    return {"restored": round(weight_back, 1), "traffic_back": round(traffic, 1)}


def steady_cpu(lab: Lab, seconds: float) -> dict[str, float]:
    """Wait `seconds` without looking at the cluster, and return what each director's whole
    stack used meanwhile, in CPU seconds per second (lab.cpu)."""
    return _meter_window(lab, seconds).stop()


def steady_cpu_by_command(lab: Lab, seconds: float) -> dict[str, dict[str, float]]:
    """steady_cpu, split by command name in each director."""
    return _meter_window(lab, seconds).stop_by_command()


def _meter_window(lab: Lab, seconds: float) -> Meter:
    meter = Meter({n.name: n.mount_ns() for n in lab.cluster.alive()})
    meter.start()
    time.sleep(seconds)
    return meter


def _watch(node: Node, real_servers: int) -> subprocess.Popen:
    """lab.watch on `node`, once it watches (its imports take seconds in TCG)."""
    watch = subprocess.Popen(node.argv([
        sys.executable, "-m", "lab.watch", VIP, str(PORT), "--real-servers",
        str(real_servers)], wd=str(REPO)), stdout=subprocess.PIPE, text=True)
    assert watch.stdout is not None
    if '"ready"' not in watch.stdout.readline():
        watch.kill()
        raise RuntimeError(f"lab.watch did not start on {node.name}")
    return watch


def _collect(watch: subprocess.Popen, t0: float, timeout: float) -> dict[str, float]:
    try:
        out, _ = watch.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        watch.kill()
        out, _ = watch.communicate()
    ups = [u for u in map(json.loads, (line for line in out.splitlines()
                                         if line.startswith("{"))) if "up" in u]
    return {u["up"]: round(u["t"] - t0, 1) for u in ups}


PIECES = ("vip", "service", "real_servers", "sync_master")


def _require_all(seen: dict[str, float], what: str, timeout: float) -> None:
    missing = [p for p in PIECES if p not in seen]
    if missing:
        raise TimeoutError(f"{what}: not up after {timeout:.0f}s: {', '.join(missing)} "
                           f"(up: {seen})")



def run_scenario(cib: str, say: Callable[[str], None], *, real_servers: int = 2,
                 active: int = 4, idle: int = 12, keepalive: float = 10.0,
                 settle: float = 40.0, installed: bool = False,
                 token_ms: int = 3000, consensus_ms: int | None = None) -> Result:
    """Run the whole scenario on a hot-standby CIB (see layout_of) with `real_servers`
    real servers (more_real_servers); `installed`: run the packaged agents (use_agents);
    consensus_ms None: corosync's default (1.2 x token)."""
    timeline = Timeline()
    plain_say = say

    def say(message: str) -> None:  # noqa: F811 - the same callback, with elapsed time
        plain_say(f"[{time.time() - timeline.t0:6.1f}s] {message}")

    with tempfile.TemporaryDirectory(prefix="lvsocf-lab-") as tmp:
        lab = Lab(Path(tmp), say, token_ms=token_ms, consensus_ms=consensus_ms)
        lab.rips = REAL_SERVERS + extra_addresses(real_servers)
        try:
            use_agents(installed)
            return _scenario(lab, timeline, cib, say, active, idle, keepalive, settle)
        except (TimeoutError, RuntimeError):
            say("the scenario failed; cluster state and logs:\n" + lab.diagnostics())
            raise
        finally:
            lab.close()


def bring_up_budget(real_servers: int) -> float:
    """Seconds for a director to load and check the whole table in the TCG guest: 600 for
    example 2's two real servers, 45 more for each other one (30 real servers came up at
    about one per 40 s on both directors, node-action-limit 2)."""
    return 600.0 + 45.0 * max(0, real_servers - len(REAL_SERVERS))


def table_hot(lab: Lab, layout: Layout, nodes: tuple[str, ...]) -> bool:
    """The whole table runs on every node, and every node's kernel has every real server
    with a weight (ipvsadm, the independent reader)."""
    placed = lab.placement()
    if not all(set(nodes) <= placed.get(r, set()) for r in layout.table):
        return False
    for n in nodes:
        weights = _weights(lab, n)
        if not all(weights.get(rip, 0) > 0 for rip in lab.rips):
            return False
    return True


def _scenario(lab: Lab, timeline: Timeline, cib: str, say: Callable[[str], None],
              active: int, idle: int, keepalive: float, settle: float) -> Result:
    layout = layout_of(cib)
    say(f"building: 2 directors (pacemaker+corosync), {len(lab.rips)} DR real servers, "
        "1 client")
    lab.build()
    lab.cluster.start(cib)
    totem = lab.cluster.totem(lab.cluster.nodes[0])
    timeline.mark("cluster online (2 nodes, DC elected; corosync token "
                  f"{totem['token']} ms, consensus {totem['consensus']} ms)")
    first, other = PREFERRED, "node2" if PREFERRED == "node1" else "node1"
    both = (first, other)
    budget = bring_up_budget(len(lab.rips))
    lab.cluster.wait(lambda: table_hot(lab, layout, both), budget,
                     "the table on both directors")
    timeline.mark("table loaded and healthy on both directors")
    lab.cluster.wait(lambda: all(lab.placement().get(r) == {first} for r in layout.moving),
                     600, f"the VIP and the sync master on {first} (after its warm-up)")
    timeline.mark(f"VIP and sync master on {first}")
    sick_rip = REAL_SERVERS[-1]
    sick_rs = next(r for r in layout.table if _rip_of(cib, r) == sick_rip)
    sick_ns = lab.real_servers[sick_rip]
    warm = {"quiesced": quiesce(lab, both, sick_rs, sick_rip, say, timeline)}
    say(f"active on {first}, hot standby on {other}; starting {active} active + {idle} idle "
        "connections")
    lab.start_traffic(active, idle, keepalive)
    lab.traffic_events(lambda e: e["kind"] == "started", 60)
    say(f"letting connections settle and sync ({settle:.0f}s)")
    steady = steady_cpu(lab, settle)
    say(f"steady state: the directors used {steady} CPU seconds per second")

    survivor = lab.cluster.node(other)
    # the real servers up after the takeover: all but the failing backend's
    watch = _watch(survivor, sum(1 for ns in lab.real_servers.values() if ns != sick_ns))
    log_at = _log_size(survivor)
    crash_at = time.time()
    lab.cluster.crash(lab.cluster.node(first))
    timeline.mark(f"{first} killed (SIGKILL of all its processes, its links cut)", crash_at)
    say(f"killed {first}; watching {other} take over")
    failover = _collect(watch, crash_at, 300)
    _require_all(failover, f"failover to {other}", 300)
    for piece, secs in failover.items():
        timeline.mark(f"{piece.replace('_', ' ')} up on {other}", crash_at + secs)
    time.sleep(max(keepalive * 2, 20))           # every idle connection speaks again
    events = lab.pending_events()
    phases = {"failover": phase_losses(events)}
    phases["failover"]["pause"] = client_pause(events, crash_at)
    phases["failover"]["actions"] = actions_since(survivor, log_at)
    phases["failover"]["steps"] = takeover_steps(survivor, log_at, crash_at,
                                                 crash_at + failover["vip"] + 60, layout.vip)
    # warm health: the backend that failed its check before the crash gets no new
    # connection after it, while the others get every one (counted at the backends)
    warm["new_conns_at_down_backend"] = len(lab.accepted(sick_ns, crash_at))
    warm["new_conns_elsewhere"] = sum(len(lab.accepted(ns, crash_at)) for ns in
                                      set(lab.real_servers.values()) - {sick_ns})
    say(f"new connections since the crash, counted at the backends: "
        f"{warm['new_conns_at_down_backend']} at the one failing its check, "
        f"{warm['new_conns_elsewhere']} at the others")
    warm.update(restore(lab, other, sick_rs, sick_rip, say, timeline))
    warm["rise_time"] = _rise_time(cib, sick_rs)
    say(f"after failover: {len(phases['failover']['broken'])} connections lost; {other} ran "
        f"{phases['failover']['actions']}")

    say(f"{first} comes back (a rebooted node: fresh namespace, empty IPVS table)")
    lab.cluster.restart(lab.cluster.node(first))
    lab.cluster.wait(lambda: lab.cluster.online() == set(both), 600, "rejoin")
    back_at = time.time()
    timeline.mark(f"{first} rejoined the cluster", back_at)
    say(f"{first} reloads its table and warms up as sync backup ({LAB_WARMUP}s); its "
        "promotion score alone then takes the service back")
    watch = _watch(lab.cluster.node(first), len(lab.rips))
    log_at = _log_size(lab.cluster.node(first))
    failback = _collect(watch, back_at, budget)        # the table is reloaded first
    _require_all(failback, f"failback to {first}", budget)
    for piece, secs in failback.items():
        timeline.mark(f"{piece.replace('_', ' ')} up on {first}", back_at + secs)
    lab.cluster.wait(lambda: all(lab.placement().get(r) == {first} for r in layout.moving),
                     300, "failback placement")
    time.sleep(max(keepalive * 2, 20))
    phases["failback"] = phase_losses(lab.pending_events())
    phases["failback"]["actions"] = actions_since(lab.cluster.node(first), log_at)
    phases["warm_health"] = warm
    phases["steady"] = {"cpu": steady, "real_servers": len(lab.rips)}
    phases["totem"] = totem
    clients = lab.stop_traffic()
    timeline.mark("client traffic stopped")
    return Result(timeline, failover, failback, clients, phases)


def report(result: Result) -> str:
    c = result.clients
    lines = ["", "lvsocf failover report (lab)", "============================",
             "timeline (seconds from cluster start):", *result.timeline.lines(), "",
             "failover (seconds after the crash): " + ", ".join(
                 f"{k.replace('_', ' ')} {v}s" for k, v in result.failover.items()),
             "failback (seconds after the rejoin, warm-up included): " + ", ".join(
                 f"{k.replace('_', ' ')} {v}s" for k, v in result.failback.items()),
             f"long-lived connections kept: {c.get('kept')}/{c.get('total')} "
             f"(longest stall {c.get('max_rtt')}s)",
             f"new connections every 0.2s: {c.get('probes_ok')} ok, "
             f"{c.get('probes_failed')} failed (while the VIP moved)"]
    warm = result.phases.get("warm_health")
    if warm:
        lines.append(
            f"a backend failing its check: quiesced on both directors after "
            f"{warm['quiesced']}s; new connections after the failover: "
            f"{warm['new_conns_at_down_backend']} to it, {warm['new_conns_elsewhere']} to the "
            f"others; once well, weight back after {warm['restored']}s and its first new "
            f"connection after {warm['traffic_back']}s (rise x interval: {warm['rise_time']}s)")
    for phase in ("failover", "failback"):
        losses = result.phases.get(phase)
        if losses is None:
            continue
        lines.append(f"{phase}: {len(losses['broken'])} connections lost, new connections "
                     f"failed for {losses['new_conn_outage']}s at most")
        if "actions" in losses:
            lines.append(f"{phase}: agent actions on the taking-over director: "
                         f"{', '.join(losses['actions']) or 'none'}")
        if losses.get("pause") is not None:
            lines.append(f"{phase}: client pause (crash -> first new connection that "
                         f"succeeds) {losses['pause']}s")
        if losses.get("steps"):
            lines.append(f"{phase}: the survivor's pacemaker.log, seconds after the crash:")
            lines += [f"  {at:6.2f}s  {what}" for at, what in losses["steps"]]
    if c.get("broken"):
        lines.append("lost: " + ", ".join(f"{k} ({v})" for k, v in c["broken"].items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog="python -m lab.failover",
                                     description="Run the failover scenario (inside the VM).")
    parser.add_argument("--cib", type=Path, required=True, help="seed CIB (build_cib on host)")
    parser.add_argument("--real-servers", type=int, default=2)
    parser.add_argument("--token", type=int, default=3000, help="corosync token (ms)")
    parser.add_argument("--consensus", type=int, help="corosync consensus (ms; default "
                        "1.2 x token)")
    parser.add_argument("--json", type=Path, help="write the result here as JSON")
    parser.add_argument("--active", type=int, default=4)
    parser.add_argument("--idle", type=int, default=12)
    parser.add_argument("--keepalive", type=float, default=10.0)
    parser.add_argument("--settle", type=float, default=40.0)
    parser.add_argument("--deb", type=Path,
                        help="install this .deb (dpkg -i in the VM) and run its agents")
    opts = parser.parse_args(argv)
    if opts.deb:
        from lab import product
        product.install_deb(opts.deb)
    cib = opts.cib.read_text()
    from lab.netns import unshare_net
    unshare_net()
    result = run_scenario(cib, lambda m: print(m, flush=True), real_servers=opts.real_servers,
                          active=opts.active, idle=opts.idle, keepalive=opts.keepalive,
                          settle=opts.settle, installed=bool(opts.deb), token_ms=opts.token,
                          consensus_ms=opts.consensus)
    print(report(result), flush=True)
    if opts.json:
        opts.json.write_text(json.dumps({
            "failover": result.failover, "failback": result.failback,
            "clients": result.clients, "phases": result.phases,
            "timeline": result.timeline.events}))
    kept = result.clients.get("kept") == result.clients.get("total")
    return 0 if kept else 1


if __name__ == "__main__":
    sys.exit(main())
