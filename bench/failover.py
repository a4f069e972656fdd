"""bench/failover: lvsocf against keepalived, the same failover in the same lab VM run.

lvsocf: the shipped example 2 as it is (adapted by lab.example.adapt) on two
Pacemaker/Corosync directors, once per corosync token (1000 and 3000 ms, token_coefficient 0,
consensus corosync's default 1.2 x token) and once with token 1000 and the two-node
consensus of 200 ms.
keepalived: the same topology, real servers, health checks and client traffic with VRRP
(advert_int 1) and keepalived's LVS table hot on both directors (lab.keepalived_peer);
the token does not apply. keepalived runs with the kernel's sync sysctls (it sets none: what
its users run); `--tools ...,keepalived-lvsocf-sync` adds a run with IPVSSync's defaults. The
ratios divide by "keepalived". Each scenario crashes the active director (SIGKILL of all its
processes, its links cut) under 4 active + 12 idle long-lived connections and a new connection
every 0.2 s, and reports:
- the client pause: the crash to the first new connection that succeeds;
- the VIP: the crash to the VIP on the survivor (lab.watch);
- the connections kept through the failover;
- and lvsocf/keepalived ratios of the medians (goal: lvsocf's pause <= 1.0x keepalived's).
TCG timings are ~10-40x slower than hardware: compare the ratios, not the seconds.

    .venv/bin/python -m bench.failover [--runs N] [--tools lvsocf-t1000,...,keepalived]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.figures import median, ratio, spread
from lab import example, failover, keepalived_peer
from lab.demo import example_config

TRAFFIC = {"active": 4, "idle": 12, "keepalive": 10.0, "settle": 30.0}
TOKENS = (1000, 3000)
# A two-node cluster may shorten corosync's consensus below the token (corosync.conf(5): "a
# consensus larger than the join timeout but less than token is safe"); cman set 0.2 x token
# for two nodes. It cuts detection by a second at token 1000.
TWO_NODE_CONSENSUS = 200
LVSOCF = {**{f"lvsocf-t{t}": (t, None) for t in TOKENS},
          "lvsocf-t1000-c200": (1000, TWO_NODE_CONSENSUS)}     # name -> (token, consensus)
KEEPALIVED = {"keepalived": "kernel", "keepalived-lvsocf-sync": "lvsocf"}
DEFAULT_TOOLS = (*LVSOCF, "keepalived")
PEER = "keepalived"                      # the column the ratios divide by
LABELS = {**{k: f"lvsocf token {t}" + (f" consensus {c}" if c else "")
             for k, (t, c) in LVSOCF.items()},
          "keepalived": "keepalived",
          "keepalived-lvsocf-sync": "keepalived+lvsocf sync"}
BUDGET = {"lvsocf": 1200, "keepalived": 600}     # VM seconds per scenario
# More real servers than example 2's two (--real-servers): a 2-vCPU TCG guest runs every
# agent action 10-40x slower, so each real server's Pacemaker monitor runs every 120 s and
# at most 2 agent actions run at once per director (the engine's checks are unchanged).
BIG_MONITOR = "120s"
BIG_PROPERTIES = {"node-action-limit": "2"}
# Guest memory (MiB): with 30 real servers 2 GiB was not enough (every agent of both
# directors timed out at once after 8 minutes, most likely the guest's page cache thrashing);
# with 4 GiB no agent action failed.
MEMORY, BIG_MEMORY = 2048, 4096


def run_lvsocf(cib: str, totem: tuple[int, int | None], real_servers: int,
               say: Callable[[str], None]) -> failover.Result:
    token_ms, consensus_ms = totem
    return failover.run_scenario(cib, say, token_ms=token_ms, consensus_ms=consensus_ms,
                                 real_servers=real_servers, **TRAFFIC)


def summary(result: failover.Result) -> dict:
    """What the table shows of one run."""
    phase = result.phases["failover"]
    total = result.clients.get("total", 0)
    back = result.phases.get("failback", {})
    return {"pause": phase.get("pause"), "outage": phase["new_conn_outage"],
            "failback_pause": back.get("new_conn_outage"),
            "vip": result.failover.get("vip"), "sync_master": result.failover.get("sync_master"),
            "kept": total - len(phase["broken"]), "total": total,
            "steps": phase.get("steps", []), "totem": result.phases.get("totem"),
            "cpu": sum(result.phases.get("steady", {}).get("cpu", {}).values()) or None}


def vm_part(tools: list[str], cib_path: Path, runs: int, real_servers: int,
            out: Path) -> None:
    from lab.netns import unshare_net
    results: dict[str, list[dict]] = {name: [] for name in tools}

    def say(message: str) -> None:
        print(message, flush=True)

    for run in range(runs):
        for name in tools:
            unshare_net()
            print(f"=== {LABELS[name]}, run {run + 1}/{runs}", flush=True)
            try:
                if name in LVSOCF:
                    result = run_lvsocf(cib_path.read_text(), LVSOCF[name], real_servers,
                                        say)
                else:
                    result = keepalived_peer.run_scenario(
                        say, sync=KEEPALIVED[name], rejoin=False, real_servers=real_servers,
                        **TRAFFIC)
                results[name].append(summary(result))
            except Exception as exc:    # noqa: BLE001 - one failed scenario is a table cell
                results[name].append({"error": f"{type(exc).__name__}: {exc}"})
            out.write_text(json.dumps(results))


def render(results: dict[str, list[dict]]) -> list[str]:
    names = list(results)
    width = max(24, *(len(LABELS[n]) + 2 for n in names))
    lines = ["bench/failover: lvsocf (example 2) vs keepalived, one lab VM run; median "
             "(min-max) over runs; TCG: compare the ratios"]
    lines.append(f"  {'':38s}" + "".join(f"{LABELS[n]:>{width}s}" for n in names))
    ok = {n: [r for r in results[n] if "error" not in r] for n in names}

    def row(label: str, cell: Callable[[list[dict]], str]) -> None:
        lines.append(f"  {label:38s}" + "".join(f"{cell(ok[n]):>{width}s}" for n in names))

    lines.append(f"  {'runs completed':38s}" + "".join(
        f"{len(ok[n])}/{len(results[n])}".rjust(width) for n in names))
    row("corosync token / consensus (as run)", lambda rs: next(
        (f"{t['token']} / {t['consensus']} ms" for r in rs if (t := r.get("totem"))), "-"))
    row("client pause (crash -> new conn ok)", lambda rs: spread([r["pause"] for r in rs]))
    row("new connections failing for", lambda rs: spread([r["outage"] for r in rs]))
    row("VIP up after", lambda rs: spread([r["vip"] for r in rs]))
    row("sync master up after", lambda rs: spread([r["sync_master"] for r in rs]))
    row("failback: new connections failing for",
        lambda rs: spread([r.get("failback_pause") for r in rs]))
    row("failback / failover pause",
        lambda rs: ratio(median([r.get("failback_pause") for r in rs]),
                         median([r["pause"] for r in rs])))
    row("steady CPU, both directors (CPU s/s)",
        lambda rs: spread([r.get("cpu") for r in rs], unit="", digits=2))
    row("connections kept",
        lambda rs: f"{sum(r['kept'] for r in rs)}/{sum(r['total'] for r in rs)}" if rs else "-")
    if PEER in ok and ok[PEER]:
        for key, what in (("pause", "client pause"), ("vip", "VIP up"), ("cpu", "steady CPU")):
            peer = median([r.get(key) for r in ok[PEER]])
            row(f"{what}: ratio to keepalived",
                lambda rs, k=key, p=peer: ratio(median([r.get(k) for r in rs]), p))
        peer = median([r["pause"] for r in ok[PEER]])
        for name in names:
            if name in LVSOCF:
                mine = median([r["pause"] for r in ok[name]])
                met = mine is not None and peer is not None and mine <= peer
                lines.append(f"  goal (pause <= 1.0x keepalived's), {LABELS[name]}: "
                             f"{'met' if met else 'not met'} ({ratio(mine, peer)})")
    for name in names:
        steps = next((r["steps"] for r in ok[name] if r.get("steps")), None)
        if steps:
            lines.append(f"  where {LABELS[name]}'s takeover spends its time (survivor's "
                         "pacemaker.log, seconds after the crash, first run):")
            lines += [f"    {at:6.2f}s  {what}" for at, what in steps]
    for name in names:
        for r in results[name]:
            if "error" in r:
                lines.append(f"  {LABELS[name]}: a run failed: {r['error']}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.failover")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--tools", default=",".join(DEFAULT_TOOLS),
                        help=f"comma-separated, from {', '.join(LABELS)}")
    parser.add_argument("--real-servers", type=int, default=2,
                        help="real servers in the service (example 2 has 2; more are copies "
                             "of its last one, with the same check, for both tools)")
    parser.add_argument("--vm-part", type=Path, help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    tools = [t for t in opts.tools.split(",") if t]
    unknown = [t for t in tools if t not in LABELS]
    if unknown or not tools:
        parser.error(f"unknown tools {unknown}: choose from {', '.join(LABELS)}")
    if opts.vm_part:
        vm_part(tools, opts.vm_part / "cib.xml", opts.runs, opts.real_servers,
                opts.vm_part / "results.json")
        return 0
    from lab import vm
    with tempfile.TemporaryDirectory(prefix="lvsocf-bench-failover-") as tmp:
        work = Path(tmp)
        if any(t in LVSOCF for t in tools):
            config, properties = example_config(), example.PROPERTIES
            if opts.real_servers > len(example.REAL_SERVERS):
                config = example.more_real_servers(config, opts.real_servers, BIG_MONITOR)
                properties = {**properties, **BIG_PROPERTIES}
            (work / "cib.xml").write_text(example.build_cib(config, work, properties))
        # an lvsocf scenario loads the table twice: at the start and when the node rejoins
        extra = failover.bring_up_budget(opts.real_servers) - failover.bring_up_budget(2)
        budget = sum(BUDGET["lvsocf"] + 2 * extra if t in LVSOCF else BUDGET["keepalived"]
                     for t in tools)
        vm.run([sys.executable, "-m", "bench.failover", "--runs", str(opts.runs),
                "--tools", ",".join(tools), "--real-servers", str(opts.real_servers),
                "--vm-part", str(work)], cwd=str(example.REPO),
               shares=[work], timeout=300 + budget * opts.runs,
               memory=BIG_MEMORY if opts.real_servers > len(example.REAL_SERVERS) else MEMORY)
        out = work / "results.json"
        if not out.exists():
            print("bench/failover: the VM part produced no results", file=sys.stderr)
            return 1
        results = json.loads(out.read_text())
    print(f"{opts.real_servers} real servers")
    print("\n".join(render(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
