"""bench/failover: failover time and connection survival of the shipped example 2 over several
runs, side by side with the same topology and cluster driven by the kernel's sync defaults
(sync_threshold "3 50", no sync_refresh_period: what a plain `ipvsadm --start-daemon` setup,
e.g. keepalived's lvs_sync_daemon, runs with). Everything runs in one lab VM; TCG timings are
~10-40x slower than hardware, so compare the two columns, not the absolute seconds.

    .venv/bin/python -m bench.failover [--runs N]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

from lvsocf.lab import failover
from lvsocf.lab.demo import example_config

SYNC_LINE = "params interface=eth1 syncid=20"
KERNEL_DEFAULTS = f'{SYNC_LINE} sync_threshold="3 50" sync_refresh_period=0'


def variants() -> dict[str, str]:
    lvsocf = example_config()
    if SYNC_LINE not in lvsocf:
        raise SystemExit(f"the example no longer has {SYNC_LINE!r}: update bench/failover")
    return {"lvsocf": lvsocf, "kernel defaults": lvsocf.replace(SYNC_LINE, KERNEL_DEFAULTS)}


def vm_part(cibs: dict[str, Path], runs: int, out: Path) -> None:
    from lvsocf.lab.netns import unshare_net
    results: dict[str, list[dict]] = {name: [] for name in cibs}
    for run in range(runs):
        for name, path in cibs.items():
            unshare_net()
            cib = path.read_text()
            print(f"=== {name}, run {run + 1}/{runs}", flush=True)
            try:
                r = failover.run_scenario(cib, lambda m: print(m, flush=True),
                                          group=failover.vip_group(cib), active=4, idle=12,
                                          keepalive=10, settle=30, warmup=30)
                results[name].append({"failover": r.failover, "failback": r.failback,
                                      "phases": r.phases, "clients": r.clients})
            except (TimeoutError, RuntimeError) as exc:
                results[name].append({"error": str(exc)})
            out.write_text(json.dumps(results))


def _median(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.1f}s ({min(values):.1f}-{max(values):.1f})"


def render(results: dict[str, list[dict]]) -> list[str]:
    lines = ["bench/failover (lab VM; median (min-max) over runs; TCG: compare columns)"]
    names = list(results)
    lines.append(f"  {'':34s}" + "".join(f"{n:>26s}" for n in names))

    def row(label: str, cell) -> None:
        lines.append(f"  {label:34s}" + "".join(f"{cell(results[n]):>26s}" for n in names))

    row("runs completed", lambda rs: f"{len([r for r in rs if 'error' not in r])}/{len(rs)}")
    for piece in failover.PIECES:
        row(f"failover: {piece.replace('_', ' ')} up after",
            lambda rs, p=piece: _median([r["failover"][p] for r in rs
                                         if "error" not in r and p in r["failover"]]))
    for phase in ("failover", "failback"):
        row(f"{phase}: connections kept",
            lambda rs, ph=phase: _kept(rs, ph))
        row(f"{phase}: new connections down",
            lambda rs, ph=phase: _median([r["phases"][ph]["new_conn_outage"] for r in rs
                                          if "error" not in r and ph in r.get("phases", {})]))
    for name in names:
        for r in results[name]:
            if "error" in r:
                lines.append(f"  {name}: a run failed: {r['error']}")
    return lines


def _kept(runs: list[dict], phase: str) -> str:
    total = kept = 0
    for r in runs:
        if "error" in r or phase not in r.get("phases", {}):
            continue
        total += r["clients"]["total"]
        kept += r["clients"]["total"] - len(r["phases"][phase]["broken"])
    return f"{kept}/{total}" if total else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.failover")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--vm-part", type=Path, help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.vm_part:
        cibs = {name: opts.vm_part / f"{i}.xml" for i, name in enumerate(variants())}
        vm_part(cibs, opts.runs, opts.vm_part / "results.json")
        return 0
    from lvsocf.lab import vm
    with tempfile.TemporaryDirectory(prefix="lvsocf-bench-failover-") as tmp:
        work = Path(tmp)
        for i, config in enumerate(variants().values()):
            seed = work / f"seed-{i}"
            seed.mkdir()
            (work / f"{i}.xml").write_text(
                failover.build_cib(config, seed, failover.PROPERTIES))
        vm.run([sys.executable, "-m", "bench.failover", "--runs", str(opts.runs),
                "--vm-part", str(work)], cwd=str(failover.REPO), shares=[work],
               timeout=600 + 1200 * opts.runs)
        out = work / "results.json"
        if not out.exists():
            print("bench/failover: the VM part produced no results", file=sys.stderr)
            return 1
        results = json.loads(out.read_text())
    print("\n".join(render(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
