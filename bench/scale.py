"""bench/scale: what a big table costs at rest, lvsocf against keepalived.

In the lab VM, one run each (the same topology, real servers and checks as bench/failover):
- lvsocf: example 2 in the hot-standby layout with N real servers (default 100) on two
  Pacemaker/Corosync directors, every real server's Pacemaker monitor every --monitor
  seconds; the CPU of each director's whole stack (corosync, Pacemaker daemons, every agent
  run, the check engine) per second over --window seconds once the table is hot on both and
  the VIP placed, split by command (lab.cpu), and the CPU of one IPVSRealServer recurring monitor
  (the agent run with its resource's parameters, 5 times, on the standby): answered by
  bash from its ticket as Pacemaker's runs are, and run by Python (a monitor after a change);
- keepalived: the same N real servers checked by keepalived on both directors (VRRP, the
  table hot on both), the same window.
On the host: the scheduler's time for the failover transition at 100 and 1,000 real servers
(crm_simulate, tests/examples/test_examples_graph.py's scenario, hot standby and the group
layout). From these: the Pacemaker monitor interval that keeps the real servers' monitors
under a CPU budget per director. TCG runs agents 10-40x slower than hardware: compare the
ratios, and scale the per-run cost down on hardware.

    .venv/bin/python -m bench.scale [--real-servers 100] [--monitor 60] [--window 180]
"""
from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.failover import BIG_MEMORY as MEMORY
from bench.failover import BIG_PROPERTIES
from lab import example, failover, keepalived_peer
from lab.demo import example_config

AGENT = "/usr/lib/ocf/resource.d/lvsocf/IPVSRealServer"
AGENT_RUNS = 5
BUDGETS = (0.02, 0.05)          # share of one CPU per director for real-server monitors
PLANNED = (100, 1000)           # table sizes the recommendation is printed for
BUDGET_VM = 3600                # VM seconds: 100 real servers load in ~40 min in TCG
# Seconds between looks at the cluster while it loads. crm_mon unpacks the whole CIB: with
# 100 real servers loaded it took up to 55 s of the guest's 2 vCPUs in TCG, so a 15 s poll
# ran it back to back and slowed the load it watched.
POLL = 60.0


def _say(message: str) -> None:
    print(message, flush=True)


def agent_run_cost(node, cib: str, resource_id: str, *,
                   full: bool) -> tuple[float, list[int]]:
    """CPU seconds of one recurring monitor run of `resource_id`'s agent on `node` (the mean
    of AGENT_RUNS runs, measured as this process's reaped children), and their exit codes.
    full: the agent run by Python (what every monitor cost before the bash fast path, and
    what a monitor that finds a change costs); else as Pacemaker runs it (bash answers from
    the ticket Pacemaker's last monitor left)."""
    # a non-zero interval: a recurring monitor, not a probe
    env = {"OCF_ROOT": "/usr/lib/ocf", "OCF_RESOURCE_INSTANCE": resource_id,
           "OCF_RESOURCE_TYPE": "IPVSRealServer", "OCF_RESKEY_CRM_meta_interval": "120000",
           **{f"OCF_RESKEY_{k}": v for k, v in example.params_of(cib, resource_id).items()}}
    argv = [sys.executable, AGENT, "monitor"] if full else [AGENT, "monitor"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    codes = [node.run(argv, check=False, env=env, timeout=120).returncode
             for _ in range(AGENT_RUNS)]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return used / AGENT_RUNS, codes


def run_lvsocf(cib: str, real_servers: int, window: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="lvsocf-scale-") as tmp:
        lab = failover.Lab(Path(tmp), _say)
        lab.rips = example.REAL_SERVERS + example.extra_addresses(real_servers)
        try:
            example.use_agents(False)
            layout = example.layout_of(cib)
            lab.build()
            started = time.monotonic()
            lab.cluster.start(cib)
            both = ("node1", "node2")
            def hot() -> bool:
                placed = lab.placement()
                running = sum(len(placed.get(r, ())) for r in layout.table)
                _say(f"[{time.monotonic() - started:5.0f}s] {running} of "
                     f"{2 * len(layout.table)} table instances running")
                return running == 2 * len(layout.table) and failover.table_hot(
                    lab, layout, both)

            lab.cluster.wait(hot, BUDGET_VM, "the table on both directors", interval=POLL)
            loaded = time.monotonic() - started
            _say(f"table hot on both directors {loaded:.0f}s after the cluster start")
            lab.cluster.wait(lambda: all(lab.placement().get(r) == {example.PREFERRED}
                                         for r in layout.moving), 600, "the VIP placed",
                             interval=POLL)
            by_command = failover.steady_cpu_by_command(lab, window)
            _say(f"steady CPU by command: {by_command}")
            standby = lab.cluster.node("node2")
            runs = {}
            for kind, full in (("full", True), ("fast", False), ("full", True)):
                cost, codes = agent_run_cost(standby, cib, layout.table[-1], full=full)
                _say(f"one IPVSRealServer monitor run ({kind}): {cost:.3f} CPU s "
                     f"(exit codes {codes})")
                runs[kind] = (cost, codes)      # the full run again writes the ticket back
            return {"cpu": by_command, "loaded": round(loaded, 1), "agent_run": runs}
        except (TimeoutError, RuntimeError):
            _say("the lvsocf run failed; cluster state and logs:\n" + lab.diagnostics())
            raise
        finally:
            lab.close()


def run_keepalived(real_servers: int, window: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="lvsocf-scale-keepalived-") as tmp:
        lab = keepalived_peer.KeepalivedLab(Path(tmp), _say)
        lab.rips = lab.cluster.rips = (example.REAL_SERVERS
                                       + example.extra_addresses(real_servers))
        try:
            lab.build()
            started = time.monotonic()
            lab.cluster.start_all()
            lab.cluster.wait(lambda: lab.cluster.master() is not None, 600,
                             "a VRRP master, both tables hot")
            loaded = time.monotonic() - started
            by_command = failover.steady_cpu_by_command(lab, window)
            _say(f"steady CPU by command: {by_command}")
            return {"cpu": by_command, "loaded": round(loaded, 1)}
        except (TimeoutError, RuntimeError, subprocess.SubprocessError):
            _say("the keepalived run failed; logs:\n" + lab.diagnostics())
            raise
        finally:
            lab.close()


def vm_part(work: Path, real_servers: int, window: float) -> None:
    from lab.netns import unshare_net
    results: dict[str, dict] = {}
    for name in ("lvsocf", "keepalived"):
        unshare_net()
        _say(f"=== {name}, {real_servers} real servers")
        try:
            results[name] = (run_lvsocf((work / "cib.xml").read_text(), real_servers, window)
                             if name == "lvsocf" else run_keepalived(real_servers, window))
        except Exception as exc:    # noqa: BLE001 - one failed run is a table cell
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
        (work / "results.json").write_text(json.dumps(results))


SCHEDULER_LINE = re.compile(r"^(hot standby|group layout) 2-dr-sync.*?, (\d+) real servers "
                            r"per service: chain (\d+), scheduler ([\d.]+) s", re.M)


def scheduler_times() -> list[tuple[str, int, int, float]]:
    """(layout, real servers, longest chain, scheduler seconds) of the failover transition,
    from the graph tests' own scenario (printed by them)."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rP",
         "tests/examples/test_examples_graph.py", "-k",
         "test_scheduler_time or test_group_layout_grows_with_the_table"],
        cwd=example.REPO, capture_output=True, text=True, timeout=1800)
    found = [(layout, int(n), int(chain), float(secs))
             for layout, n, chain, secs in SCHEDULER_LINE.findall(done.stdout)]
    if done.returncode or not found:
        raise RuntimeError(f"the scheduler timing tests failed:\n{done.stdout[-3000:]}")
    return sorted(set(found))


def _groups(by_command: dict[str, float]) -> dict[str, float]:
    """Commands summed into the stack's parts."""
    parts: dict[str, float] = {}
    for command, cpu in by_command.items():
        if command == "pacemaker-execd":
            part = "pacemaker-execd + agent runs"
        elif command.startswith("pacemaker") or command == "corosync":
            part = "corosync + other Pacemaker daemons"
        elif command == "keepalived":
            part = "keepalived"
        elif command.startswith("python") or command.startswith("lvsocf"):
            part = "check engine (and agents still running)"
        else:
            part = "other"
        parts[part] = round(parts.get(part, 0.0) + cpu, 3)
    return parts


def render(results: dict, scheduler: list, real_servers: int, monitor: float,
           window: float) -> list[str]:
    lines = [f"bench/scale: {real_servers} real servers on two directors, one lab VM run; "
             f"lvsocf real-server monitors every {monitor:g} s; CPU over {window:g} s "
             "(CPU seconds per second, both directors); TCG: compare the ratios"]
    totals = {}
    for name in ("lvsocf", "keepalived"):
        r = results.get(name)
        if r is None:
            continue
        if "error" in r:
            lines.append(f"  {name}: the run failed: {r['error']}")
            continue
        total = sum(sum(by.values()) for by in r["cpu"].values())
        totals[name] = total
        lines.append(f"  {name}: {total:.3f} CPU s/s (table hot after {r['loaded']:.0f} s)")
        for node, by_command in r["cpu"].items():
            parts = ", ".join(f"{k} {v:.3f}" for k, v in _groups(by_command).items() if v)
            lines.append(f"    {node}: {parts}")
    if totals.get("keepalived") and "lvsocf" in totals:
        ratio = totals["lvsocf"] / totals["keepalived"]
        lines.append(f"  lvsocf / keepalived steady CPU: {ratio:.1f}x")
    runs = results.get("lvsocf", {}).get("agent_run") or {}
    for kind, what in (("full", "run by Python (the first after any change)"),
                       ("fast", "answered by bash from its ticket (every other)")):
        if kind in runs:
            cost, codes = runs[kind]
            lines.append(f"  one IPVSRealServer monitor {what}: {cost:.3f} CPU s in TCG "
                         f"(exit codes {codes})")
    if "fast" in runs and runs["fast"][0] > 0:
        cost = runs["fast"][0]
        lines.append("  per director, N real servers monitored every I s cost N x run / I "
                     "CPU s/s")
        for budget in BUDGETS:
            advice = ", ".join(f"{n} real servers >= {n * cost / budget:.0f} s"
                               for n in PLANNED)
            lines.append(f"    monitor interval for <= {budget:.0%} of one CPU per director "
                         f"(TCG cost; hardware ~10-40x less): {advice}")
    for layout, n, chain, secs in scheduler:
        lines.append(f"  scheduler, failover transition, {layout}, {n} real servers: "
                     f"{secs:.2f} s, longest chain {chain}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale")
    parser.add_argument("--real-servers", type=int, default=100)
    parser.add_argument("--monitor", type=float, default=60.0,
                        help="each real server's Pacemaker monitor interval (s)")
    parser.add_argument("--window", type=float, default=180.0,
                        help="seconds of steady state measured")
    parser.add_argument("--no-scheduler", action="store_true",
                        help="skip the crm_simulate timing on the host")
    parser.add_argument("--no-vm", action="store_true",
                        help="only the crm_simulate timing on the host")
    parser.add_argument("--vm-part", type=Path, help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.vm_part:
        vm_part(opts.vm_part, opts.real_servers, opts.window)
        return 0
    from lab import vm
    scheduler = [] if opts.no_scheduler else scheduler_times()
    if opts.no_vm:
        print("\n".join(render({}, scheduler, opts.real_servers, opts.monitor, opts.window)))
        return 0
    with tempfile.TemporaryDirectory(prefix="lvsocf-bench-scale-") as tmp:
        work = Path(tmp)
        config = example.more_real_servers(example_config(), opts.real_servers,
                                           f"{opts.monitor:g}s")
        properties = {**example.PROPERTIES, **BIG_PROPERTIES}
        (work / "cib.xml").write_text(example.build_cib(config, work, properties))
        vm.run([sys.executable, "-m", "bench.scale", "--real-servers", str(opts.real_servers),
                "--window", str(opts.window), "--vm-part", str(work)],
               cwd=str(example.REPO), shares=[work], timeout=600 + BUDGET_VM + opts.window,
               memory=MEMORY)
        out = work / "results.json"
        if not out.exists():
            print("bench/scale: the VM part produced no results", file=sys.stderr)
            return 1
        results = json.loads(out.read_text())
    print("\n".join(render(results, scheduler, opts.real_servers, opts.monitor, opts.window)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
