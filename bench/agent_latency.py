"""bench/agent-latency: how long the lvsocf agents take per action, next to the stock
ocf:heartbeat:IPaddr2 measured in the same run. Medians of N calls; ratios only are meant to
be compared (inside a TCG VM everything is ~45x slower than on hardware).

- on the host: meta-data and validate-all (no kernel needed);
- inside the lab VM (real IPVS): monitor, with a started VIP (IPaddr2) and service.

    .venv/bin/python -m bench.agent_latency [--runs N]          # both parts, one report
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OCF_ROOT = Path("/usr/lib/ocf")
IPADDR2 = OCF_ROOT / "resource.d" / "heartbeat" / "IPaddr2"
VIP, NIC = "198.18.5.10", "bench0"

SERVICE = {"vip": VIP, "port": "80", "protocol": "tcp", "scheduler": "wlc"}
REAL_SERVER = {**SERVICE, "rip": "198.18.5.20", "method": "masq", "check_type": "none"}
SYNC = {"interface": NIC, "syncid": "7"}
VIP_PARAMS = {"ip": VIP, "cidr_netmask": "24", "nic": NIC}


def agent(name: str) -> list[str]:
    """An lvsocf agent run by this checkout's Python, or a stock one as installed."""
    if name == "IPaddr2":
        return [str(IPADDR2)]
    return [sys.executable, str(REPO / "agents" / name)]


def env_for(instance: str, params: dict[str, str]) -> dict[str, str]:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
           "OCF_ROOT": str(OCF_ROOT), "OCF_RESOURCE_INSTANCE": instance,
           "OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": "1",
           "HA_RSCTMP": "/run/resource-agents"}
    env.update({f"OCF_RESKEY_{k}": v for k, v in params.items()})
    return env


def call(name: str, action: str, params: dict[str, str], argv: list[str] | None = None,
         **extra: str) -> int:
    return subprocess.run([*(argv or agent(name)), action],
                          env={**env_for(name, params), **extra},
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          cwd="/").returncode


def median_ms(runs: int, argv_fn) -> float:
    """Median wall time of `runs` calls of argv_fn(), which must return exit status 0."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        rc = argv_fn()
        times.append(time.perf_counter() - start)
        if rc != 0:
            raise RuntimeError(f"exit status {rc}")
    return round(statistics.median(times) * 1000, 1)


def timed_action(name: str, action: str, params: dict[str, str], runs: int,
                 **extra: str) -> float:
    return median_ms(runs, lambda: call(name, action, params, **extra))


def host_part(runs: int) -> dict[str, float]:
    results = {}
    for name, params in (("IPaddr2", VIP_PARAMS), ("IPVSService", SERVICE),
                         ("IPVSRealServer", REAL_SERVER), ("IPVSSync", SYNC)):
        results[f"{name} meta-data"] = timed_action(name, "meta-data", params, runs)
    for name, params in (("IPVSService", SERVICE), ("IPVSRealServer", REAL_SERVER)):
        results[f"{name} validate-all"] = timed_action(name, "validate-all", params, runs)
    return results


def vm_part(runs: int) -> dict[str, float]:
    """Inside the VM: start a VIP, a service, a real server and a sync backup, then time their
    monitors (the command each agent runs most: every 10 s per resource, per node)."""
    subprocess.run(["ip", "link", "add", NIC, "type", "dummy"], check=True)
    subprocess.run(["ip", "link", "set", NIC, "up"], check=True)
    subprocess.run(["ip", "addr", "add", "198.18.5.1/24", "dev", NIC], check=True)
    os.makedirs("/run/resource-agents", exist_ok=True)
    started = [("IPaddr2", VIP_PARAMS), ("IPVSService", SERVICE),
               ("IPVSRealServer", REAL_SERVER), ("IPVSSync", SYNC)]
    for name, params in started:
        if call(name, "start", params) != 0:
            raise RuntimeError(f"{name} start failed")
    results = {}
    for name, params in started:
        results[f"{name} monitor"] = timed_action(name, "monitor", params, runs)
    results["IPVSService monitor OCF_CHECK_LEVEL=10"] = timed_action(
        "IPVSService", "monitor", SERVICE, runs, OCF_CHECK_LEVEL="10")
    # as Pacemaker runs them: the installed executable, a recurring monitor; the first (full,
    # Python) leaves the ticket the others are answered from in bash
    from lab.install import install_agents
    with tempfile.TemporaryDirectory(prefix="lvsocf-bench-agents-") as folder:
        installed = {p.name: [str(p)] for p in install_agents(Path(folder))}
        recurring = {"OCF_RESKEY_CRM_meta_interval": "10000"}
        for name, params in (("IPVSService", SERVICE), ("IPVSRealServer", REAL_SERVER)):
            if call(name, "monitor", params, installed[name], **recurring) != 0:
                raise RuntimeError(f"{name} recurring monitor failed")
            argv = installed[name]
            results[f"{name} recurring monitor (bash fast path)"] = median_ms(
                runs, lambda n=name, p=params, a=argv: call(n, "monitor", p, a, **recurring))
    results["python3 -c pass"] = median_ms(
        runs, lambda: subprocess.run(["/usr/bin/python3", "-c", "pass"]).returncode)
    for name, params in reversed(started):
        call(name, "stop", params)
    return results


def render(where: str, results: dict[str, float], reference: str) -> list[str]:
    base = results[reference]
    lines = [f"{where} (median of runs; ratio = / {reference})"]
    for what, ms in results.items():
        lines.append(f"  {what:48s} {ms:9.1f} ms   x{ms / base:5.2f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.agent_latency")
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--vm-part", type=Path, help=argparse.SUPPRESS)   # inside the VM
    opts = parser.parse_args(argv)
    if opts.vm_part:
        opts.vm_part.write_text(json.dumps(vm_part(opts.runs)))
        return 0
    from lab import vm
    host = host_part(opts.runs)
    with tempfile.TemporaryDirectory(prefix="lvsocf-bench-") as tmp:
        out = Path(tmp) / "vm.json"
        rc = vm.run([sys.executable, "-m", "bench.agent_latency", "--runs", str(opts.runs),
                     "--vm-part", str(out)], cwd=str(REPO), shares=[Path(tmp)], timeout=1800)
        if rc != 0 or not out.exists():
            print(f"the VM part failed (exit {rc})", file=sys.stderr)
            return 1
        guest = json.loads(out.read_text())
    print("\n".join(render("host", host, "IPaddr2 meta-data")))
    print("\n".join(render("lab VM (TCG: compare ratios only)", guest, "IPaddr2 monitor")))
    goal = guest["IPVSService monitor"] <= guest["IPaddr2 monitor"]
    print(f"goal (IPVSService monitor no slower than IPaddr2 monitor): "
          f"{'met' if goal else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
