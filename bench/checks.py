"""bench/checks: health checking at scale, lvsocf's engine side by side with keepalived and
ldirectord, against the same real servers in one (VM) run. Prints ratios.

    python -m lab.vm -- .venv/bin/python -m bench.checks [--sizes 200,2000]

For each size N: N real servers (N/2 TCP-checked, N/2 HTTP-checked, every 1 s; --tcp-share
changes the split) served by
one small C epoll server in its own network namespace, which logs every SYN that reaches a
TCP-checked port (a packet socket on its interface: a half-open check never becomes a
connection) and every request to an HTTP-checked one (it answers HTTP/1.1 and keeps the
connection open unless the request says "close"). Each tool runs alone, in its own cgroup,
for a warm-up and then a measured window:

- checks/s     SYNs and requests the servers saw per second (what the tool really did)
- interval     gaps between two checks of the same real server, p50/p95/max; anything over
               1 s is lateness
- coverage     real servers checked at least twice in the window
- CPU/check    the tool's cgroup CPU time (all its processes) / checks; "kernel" is the
               share of it spent in the kernel (sockets, TCP, softirqs run on its behalf)

Tools: lvsocf (lvsocf.engine, tcp + http checks), lvsocf-auto (the same with one worker process
per CPU, --workers auto), lvsocf-half (tcp-half-open instead of tcp: SYN, SYN-ACK, the kernel's
RST; keepalived has no such check), lvsocf-reuse (lvsocf-half with reuse_connection=true for
HTTP: one kept connection per server carries its checks; keepalived opens one per check),
lvsocf-reuse-auto (the same with --workers auto), keepalived -C (TCP_CHECK + HTTP_GET,
delay_loop 1), ldirectord (checktype=connect + negotiate/http, checkinterval 1, default
fork=no). The IPVS table is preloaded with every real server at weight 1 for all three, so
start-up reconciling is not what gets measured.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SERVER_ADDR, DIRECTOR_ADDR = "10.1.0.1", "10.1.0.254"
VIP_TCP, VIP_HTTP = "10.2.0.1", "10.2.0.2"
FIRST_PORT = 20000
CGROUP_ROOT = Path("/sys/fs/cgroup")
STARTUP_LIMIT = 300.0      # seconds a tool may take before it checks 90% of the servers
PROFILE = False
TCP_SHARE = 0.5            # of the N real servers, this share is TCP-checked, the rest HTTP

SERVER_C = r"""
/* One epoll loop listening on many ports: TCP ports accept and close, HTTP ports answer
 * requests (keeping the connection unless the request is HTTP/1.0 or says "close"). Each SYN
 * to a TCP port arriving on eth0, and each request to an HTTP port, is logged (port,
 * CLOCK_MONOTONIC ns) in memory; SIGUSR1 writes the log to OUT (via OUT.tmp + rename) and
 * clears it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t dump;
static void on_usr1(int s) { (void)s; dump = 1; }

int main(int argc, char **argv) {
    if (argc != 6) { fprintf(stderr, "usage: addr first n_tcp n_http out\n"); return 2; }
    int first = atoi(argv[2]), ntcp = atoi(argv[3]), n = ntcp + atoi(argv[4]);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[5]);
    int ep = epoll_create1(0);
    int *listener = calloc(1 << 20, sizeof(int));   /* fd -> port, 0 = a connection */
    int *conn_port = calloc(1 << 20, sizeof(int));  /* fd of an HTTP connection -> port */
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(first + i)};
        inet_pton(AF_INET, argv[1], &sa.sin_addr);
        if (bind(fd, (void *)&sa, sizeof sa) || listen(fd, 4096)) { perror("listen"); return 1; }
        listener[fd] = first + i;
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    /* SYNs (not SYN-ACKs) to this node: ip proto 6, (flags & (SYN|ACK)) == SYN */
    struct sock_filter syn_only[] = {
        {0x30, 0, 0, 9}, {0x15, 0, 5, 6}, {0xb1, 0, 0, 0}, {0x50, 0, 0, 13},
        {0x54, 0, 0, 0x12}, {0x15, 0, 1, 0x02}, {0x06, 0, 0, 64}, {0x06, 0, 0, 0}};
    struct sock_fprog prog = {.len = 8, .filter = syn_only};
    int tap = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK, htons(ETH_P_IP)), big = 16 << 20;
    struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
                             .sll_ifindex = if_nametoindex("eth0")};
    if (tap < 0 || setsockopt(tap, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog)
        || setsockopt(tap, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big)
        || bind(tap, (void *)&ll, sizeof ll)) { perror("tap"); return 1; }
    char early[256];
    while (recv(tap, early, sizeof early, 0) > 0) { /* from before the filter */ }
    struct epoll_event tev = {.events = EPOLLIN, .data.fd = tap};
    epoll_ctl(ep, EPOLL_CTL_ADD, tap, &tev);
    size_t cap = 1 << 22, len = 0;
    struct rec { int port; long long ns; } *log = malloc(cap * sizeof *log);
    signal(SIGUSR1, on_usr1);
    printf("listening\n");
    fflush(stdout);
    static const char keep[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                               "Content-Length: 2\r\n\r\nok";
    static const char last[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                               "Connection: close\r\nContent-Length: 2\r\n\r\nok";
    struct epoll_event evs[512];
    char buf[4096];
    for (;;) {
        if (dump) {
            dump = 0;
            FILE *f = fopen(tmp, "w");
            for (size_t i = 0; i < len; i++) fprintf(f, "%d %lld\n", log[i].port, log[i].ns);
            fclose(f);
            rename(tmp, argv[5]);
            len = 0;
        }
        int k = epoll_wait(ep, evs, 512, 50);
        for (int i = 0; i < k; i++) {
            int fd = evs[i].data.fd, port = listener[fd];
            if (fd == tap) {
                ssize_t got;
                while ((got = recv(tap, buf, sizeof buf, 0)) >= 20) {
                    int ihl = (buf[0] & 0x0f) * 4;
                    if (got < ihl + 4) continue;
                    struct timespec ts;
                    clock_gettime(CLOCK_MONOTONIC, &ts);
                    int to = ((unsigned char)buf[ihl + 2] << 8) | (unsigned char)buf[ihl + 3];
                    if (len < cap && to - first >= 0 && to - first < ntcp) {
                        log[len].port = to;
                        log[len++].ns = ts.tv_sec * 1000000000LL + ts.tv_nsec;
                    }
                }
                continue;
            }
            if (port) {
                int c;
                while ((c = accept4(fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (port - first < ntcp) { close(c); continue; }
                    conn_port[c] = port;
                    struct epoll_event ev = {.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
                }
                continue;
            }
            ssize_t r = read(fd, buf, sizeof buf - 1);
            if (r > 0 && memmem(buf, r, "\r\n\r\n", 4)) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                if (len < cap) {
                    log[len].port = conn_port[fd];
                    log[len++].ns = ts.tv_sec * 1000000000LL + ts.tv_nsec;
                }
                buf[r] = 0;
                int stay = strstr(buf, " HTTP/1.1\r\n") && !strcasestr(buf, "close");
                const char *resp = stay ? keep : last;
                if (write(fd, resp, strlen(resp)) < 0 || !stay) close(fd);
            } else if (r == 0 || (r < 0 && errno != EAGAIN)) {
                close(fd);
            }
        }
    }
}
"""


def sh(*argv: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), check=True, capture_output=True, text=True, **kw)


# ---- the real servers ------------------------------------------------------------------

class Servers:
    """The C server in namespace bsrv, reachable from here through a veth pair."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.binary = workdir / "bench-server"
        sh("gcc", "-O2", "-o", str(self.binary), "-x", "c", "-", input=SERVER_C)
        sh("ip", "netns", "add", "bsrv")
        sh("ip", "link", "add", "bdir", "type", "veth", "peer", "name", "eth0", "netns", "bsrv")
        sh("ip", "addr", "add", f"{DIRECTOR_ADDR}/24", "dev", "bdir")
        sh("ip", "link", "set", "bdir", "up")
        for argv in (["addr", "add", f"{SERVER_ADDR}/24", "dev", "eth0"],
                     ["link", "set", "eth0", "up"], ["link", "set", "lo", "up"]):
            sh("ip", "-n", "bsrv", *argv)
        self.proc: subprocess.Popen | None = None
        self.out = workdir / "syns.log"

    def start(self, n: int) -> None:
        self.stop()
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", "bsrv", str(self.binary), SERVER_ADDR, str(FIRST_PORT),
             *(str(len(r)) for r in ports(n)), str(self.out)], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "listening"

    def collect(self) -> list[tuple[int, int]]:
        """Every (port, ns) of a SYN to a TCP port or a request to an HTTP port since the
        last collect()."""
        self.out.unlink(missing_ok=True)
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 30
        while not self.out.exists():
            assert time.monotonic() < deadline, "the bench server did not dump its log"
            time.sleep(0.05)
        rows = []
        for line in self.out.read_text().splitlines():
            port, ns = line.split()
            rows.append((int(port), int(ns)))
        return rows

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def ports(n: int) -> tuple[range, range]:
    """The TCP-checked and the HTTP-checked real servers' ports."""
    split = FIRST_PORT + round(n * TCP_SHARE)
    return range(FIRST_PORT, split), range(split, FIRST_PORT + n)


def preload(n: int) -> None:
    """Both services with every real server at weight 1 (ipvsadm -R)."""
    tcp, http = ports(n)
    rules = [f"-A -t {VIP_TCP}:80 -s wlc", f"-A -t {VIP_HTTP}:80 -s wlc"]
    rules += [f"-a -t {VIP_TCP}:80 -r {SERVER_ADDR}:{p} -m -w 1" for p in tcp]
    rules += [f"-a -t {VIP_HTTP}:80 -r {SERVER_ADDR}:{p} -m -w 1" for p in http]
    subprocess.run(["ipvsadm", "-C"], check=True)
    subprocess.run(["ipvsadm", "-R"], input="\n".join(rules) + "\n", text=True, check=True)


# ---- one tool in its own cgroup ---------------------------------------------------------

class Cgroup:
    def __init__(self, name: str) -> None:
        self.path = CGROUP_ROOT / f"bench-{name}"
        self.path.mkdir(exist_ok=True)

    def spawn(self, argv: list[str], **kw) -> subprocess.Popen:
        procs = str(self.path / "cgroup.procs")

        def join() -> None:
            Path(procs).write_text(str(os.getpid()))
        return subprocess.Popen(argv, preexec_fn=join, stdin=subprocess.DEVNULL, **kw)

    def cpu(self) -> tuple[float, float]:
        """(all, kernel) CPU seconds of the group so far."""
        stat = dict(line.split() for line in (self.path / "cpu.stat").read_text().splitlines())
        return int(stat["usage_usec"]) / 1e6, int(stat["system_usec"]) / 1e6

    def kill(self) -> None:
        for _ in range(50):
            pids = (self.path / "cgroup.procs").read_text().split()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)
        self.path.rmdir()


@dataclass
class Result:
    tool: str
    n: int
    seconds: float
    checks: int
    cpu: float
    kernel_cpu: float
    intervals: list[float]
    covered: int
    extra: str = ""

    @property
    def rate(self) -> float:
        return self.checks / self.seconds

    def q(self, p: float) -> float:
        if not self.intervals:
            return float("nan")
        ordered = sorted(self.intervals)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    @property
    def cpu_per_check(self) -> float:
        return self.cpu / self.checks if self.checks else float("nan")


def measure(tool: str, n: int, servers: Servers, start, warmup: float,
            window: float, workdir: Path) -> Result:
    preload(n)
    servers.start(n)
    group = Cgroup(tool)
    extra = ""
    try:
        ready = start(group, n, workdir)
        started = time.monotonic()
        seen: set[int] = set()
        while len(seen) < 0.9 * n and time.monotonic() - started < STARTUP_LIMIT:
            time.sleep(2)               # until the tool really checks (Perl starts slowly)
            seen.update(port for port, _ in servers.collect())
        extra = f"(checking after {time.monotonic() - started:.0f}s) "
        time.sleep(warmup)
        servers.collect()
        cpu0, t0 = group.cpu(), time.monotonic()
        time.sleep(window)
        rows = servers.collect()
        cpu1, t1 = group.cpu(), time.monotonic()
        if ready is not None:
            extra += ready()
    finally:
        group.kill()
        servers.stop()
        subprocess.run(["ipvsadm", "-C"], check=False)
    by_port: dict[int, list[int]] = {}
    for port, ns in rows:
        by_port.setdefault(port, []).append(ns)
    gaps = []
    for stamps in by_port.values():
        stamps.sort()
        gaps += [(b - a) / 1e9 for a, b in zip(stamps, stamps[1:], strict=False)]
    covered = sum(1 for s in by_port.values() if len(s) >= 2)
    tcp_ports = ports(n)[0]
    tcp_checks = sum(len(s) for port, s in by_port.items() if port in tcp_ports)
    extra += f"; {tcp_checks / len(rows) if rows else 0:.0%} of the checks TCP "
    return Result(tool, n, t1 - t0, len(rows), cpu1[0] - cpu0[0], cpu1[1] - cpu0[1], gaps,
                  covered, extra)


def start_lvsocf(group: Cgroup, n: int, workdir: Path, workers: str = "1",
                 tcp_kind: str = "tcp", reuse: bool = False):
    state_dir = workdir / f"lvsocf-{n}-{workers}-{tcp_kind}{'-reuse' if reuse else ''}"
    os.environ["LVSOCF_STATE_DIR"] = str(state_dir)
    from lvsocf import state
    from lvsocf.ipvs.model import RealServer, ServiceKey
    from lvsocf.records import CheckSpec, RealServerRecord

    tcp, http = ports(n)
    for kind, vip, port_range in ((tcp_kind, VIP_TCP, tcp), ("http", VIP_HTTP, http)):
        options = (("reuse_connection", "true"),) if reuse and kind == "http" else ()
        for port in port_range:
            RealServerRecord(ServiceKey("tcp", vip, 80), RealServer(SERVER_ADDR, port, "masq"),
                             CheckSpec(kind, options, 1.0, 3.0, 1, 3)).write(f"{kind}-{port}")
    env = {"PATH": os.environ["PATH"], "LVSOCF_STATE_DIR": str(state_dir),
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    profile = workdir / f"engine-{n}.prof"
    argv = [sys.executable, *(["-m", "cProfile", "-o", str(profile)] if PROFILE else []),
            "-m", "lvsocf.engine", "--state-dir", str(state_dir), "--idle-exit", "0",
            "--workers", workers]
    engine = group.spawn(argv, env=env)
    deadline = time.monotonic() + 600
    while (state.read("engine", "status") or {}).get("registrations") != n:
        assert time.monotonic() < deadline, "the lvsocf engine did not load every record"
        time.sleep(0.5)

    def report() -> str:
        from collections import Counter

        s = state.read("engine", "status") or {}
        p95 = s.get("lateness_p95")
        failing = Counter(h.get("detail", "") for h in state.all_of("health").values()
                          if not h.get("healthy"))
        why = "; ".join(f"{count} {detail!r}" for detail, count in failing.most_common(2))
        if PROFILE:
            engine.terminate()          # the engine exits cleanly; cProfile writes its file
            engine.wait(60)
            import pstats
            pstats.Stats(str(profile), stream=sys.stderr).sort_stats("tottime").print_stats(30)
        return (f"engine: {s.get('healthy')}/{n} healthy, {s.get('inconclusive')} "
                f"inconclusive checks, own lateness p95 "
                f"{(p95 or 0) * 1000:.0f} ms{', unhealthy: ' + why if why else ''}")
    return report


def start_keepalived(group: Cgroup, n: int, workdir: Path):
    tcp, http = ports(n)
    conf = ["global_defs {\n  router_id bench\n}"]
    for vip, port_range, check in (
            (VIP_TCP, tcp, "TCP_CHECK {\n      connect_timeout 3\n    }"),
            (VIP_HTTP, http, "HTTP_GET {\n      url {\n        path /\n        status_code 200"
                             "\n      }\n      connect_timeout 3\n    }")):
        if not port_range:
            continue
        conf.append(f"virtual_server {vip} 80 {{\n  delay_loop 1\n  lb_algo wlc\n"
                    "  lb_kind NAT\n  protocol TCP")
        conf += [f"  real_server {SERVER_ADDR} {p} {{\n    weight 1\n    {check}\n  }}"
                 for p in port_range]
        conf.append("}")
    path = workdir / f"keepalived-{n}.conf"
    path.write_text("\n".join(conf) + "\n")
    group.spawn(["keepalived", "--dont-fork", "--check", "--use-file", str(path),
                 "--pid", str(workdir / "ka.pid"), "--checkers_pid",
                 str(workdir / "ka-check.pid"), "--log-detail"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return None


def start_ldirectord(group: Cgroup, n: int, workdir: Path):
    tcp, http = ports(n)
    lines = ["checktimeout=3", "negotiatetimeout=3", "checkinterval=1", "autoreload=no",
             "quiescent=yes", f'logfile="{workdir}/ldirectord.log"']
    lines.append(f"virtual={VIP_TCP}:80")
    lines += [f"\treal={SERVER_ADDR}:{p} masq 1" for p in tcp]
    lines += ["\tchecktype=connect", "\tscheduler=wlc", "\tprotocol=tcp"]
    lines.append(f"virtual={VIP_HTTP}:80")
    lines += [f"\treal={SERVER_ADDR}:{p} masq 1" for p in http]
    lines += ["\tservice=http", "\tchecktype=negotiate", '\trequest="/"', '\treceive="ok"',
              "\tscheduler=wlc", "\tprotocol=tcp"]
    path = workdir / f"ldirectord-{n}.cf"
    path.write_text("\n".join(lines) + "\n")
    group.spawn(["ldirectord", str(path), "start"], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
    return None


# the variants of the module docstring's tool list
_HALF = {"tcp_kind": "tcp-half-open"}
TOOLS = {"lvsocf": start_lvsocf,
         "lvsocf-auto": functools.partial(start_lvsocf, workers="auto"),
         "lvsocf-half": functools.partial(start_lvsocf, **_HALF),
         "lvsocf-reuse": functools.partial(start_lvsocf, **_HALF, reuse=True),
         "lvsocf-reuse-auto": functools.partial(start_lvsocf, workers="auto", **_HALF,
                                                reuse=True),
         "keepalived": start_keepalived,
         "ldirectord": start_ldirectord}
OURS = [tool for tool in TOOLS if tool.startswith("lvsocf")]
# Variants that do less work per check than the peers (printed next to their ratios): the
# peers' TCP checks complete the handshake and their HTTP checks open a new connection each.
NOT_LIKE_FOR_LIKE = {
    "lvsocf-half": "tcp-half-open: SYN and SYN-ACK only, no handshake (the peers complete it)",
    "lvsocf-reuse": "tcp-half-open, and HTTP on kept-alive connections (the peers reconnect)",
    "lvsocf-reuse-auto": "as lvsocf-reuse, with one worker per CPU",
}


def report(results: list[Result]) -> None:
    print(f"{'tool':<17} {'N':>5} {'checks/s':>9} {'expected':>8} {'p50 gap':>8} "
          f"{'p95 gap':>8} {'max gap':>8} {'covered':>8} {'CPU/check':>10} {'kernel':>7} "
          f"{'CPU %':>6}")
    for r in results:
        print(f"{r.tool:<17} {r.n:>5} {r.rate:>9.0f} {r.n:>8} {r.q(50):>7.2f}s "
              f"{r.q(95):>7.2f}s {max(r.intervals, default=float('nan')):>7.2f}s "
              f"{r.covered:>4}/{r.n:<4}{r.cpu_per_check * 1e3:>8.2f}ms "
              f"{100 * r.kernel_cpu / r.cpu if r.cpu else 0:>6.0f}% "
              f"{100 * r.cpu / r.seconds:>5.0f}%  {r.extra}")
    print()
    rounds: dict[tuple[str, int], list[Result]] = {}
    for r in results:
        rounds.setdefault((r.tool, r.n), []).append(r)

    def median(tool: str, n: int, metric) -> float:
        return statistics.median(metric(r) for r in rounds[tool, n])
    metrics = (("checks/s", lambda r: r.rate), ("p95 gap", lambda r: r.q(95)),
               ("CPU/check", lambda r: r.cpu_per_check))
    for n in sorted({r.n for r in results}):
        for ours in OURS:
            for peer in ("keepalived", "ldirectord"):
                if (ours, n) not in rounds or (peer, n) not in rounds:
                    continue
                ratios = "  ".join(
                    f"{name} {_ratio(median(ours, n, m), median(peer, n, m))}"
                    for name, m in metrics)
                caveat = NOT_LIKE_FOR_LIKE.get(ours)
                print(f"N={n:<5} {ours + '/' + peer:<28} {ratios}  (medians of "
                      f"{len(rounds[ours, n])} and {len(rounds[peer, n])} rounds)"
                      + (f"  NOT LIKE FOR LIKE: {caveat}" if caveat else ""))


def _ratio(a: float, b: float) -> str:
    return f"{a / b:5.2f}" if b and b == b and a == a else "  n/a"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.checks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="200,2000")
    p.add_argument("--tools", default=",".join(TOOLS))
    p.add_argument("--warmup", type=float, default=10.0)
    p.add_argument("--window", type=float, default=20.0)
    p.add_argument("--tcp-share", type=float, default=0.5,
                   help="share of the real servers that are TCP-checked (the rest: HTTP)")
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument("--profile", action="store_true",
                   help="run the lvsocf engine under cProfile and print where its time goes "
                        "(the profiler's own cost inflates lvsocf's figures)")
    opts = p.parse_args(argv)
    global PROFILE, TCP_SHARE
    PROFILE, TCP_SHARE = opts.profile, opts.tcp_share
    from lab.netns import unshare_net

    unshare_net()
    for module in ("ip_vs", "ip_vs_wlc"):
        subprocess.run(["modprobe", module], check=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(hard, 65536), max(hard, 65536)))
    workdir = Path(tempfile.mkdtemp(prefix="bench-checks-"))
    servers = Servers(workdir)
    results = []
    try:
        for n in (int(s) for s in opts.sizes.split(",")):
            for tool in opts.tools.split(","):
                print(f"... {tool} with {n} real servers", file=sys.stderr, flush=True)
                results.append(measure(tool, n, servers, TOOLS[tool], opts.warmup,
                                       opts.window, workdir))
    finally:
        servers.stop()
        subprocess.run(["ip", "netns", "del", "bsrv"], check=False)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"bench/checks: every real server checked every 1 s, {TCP_SHARE:.0%} by TCP, the "
          f"rest by HTTP; {os.cpu_count()} CPUs; "
          f"window {opts.window:g}s after {opts.warmup:g}s warm-up")
    report(results)
    if opts.json:
        opts.json.write_text(json.dumps([{
            "tool": r.tool, "n": r.n, "checks_per_s": r.rate, "p50": r.q(50),
            "p95": r.q(95), "covered": r.covered, "cpu_per_check": r.cpu_per_check,
            "cpu_share": r.cpu / r.seconds, "kernel_share_of_cpu": r.kernel_cpu / r.cpu,
            "median_gap": statistics.median(r.intervals)
            if r.intervals else None} for r in results], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
