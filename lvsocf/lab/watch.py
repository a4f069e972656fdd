"""Run inside a director: print one JSON line the first moment each piece of the LVS stack
is up on this node (VIP, service, real servers with weight, sync master), then exit.

    python -m lvsocf.lab.watch VIP PORT IFACE [--timeout S]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from lvsocf.ipvs import proc
from lvsocf.ipvs.model import ServiceKey


def has_vip(vip: str, iface: str) -> bool:
    out = subprocess.run(["ip", "-o", "addr", "show", "dev", iface], capture_output=True,
                         text=True).stdout
    return f" {vip}/" in out


def service_state(key: ServiceKey) -> tuple[bool, int]:
    for svc in proc.read_services() or ():
        if svc.matches(key):
            return True, sum(1 for rs in svc.real_servers if rs.weight > 0)
    return False, 0


def sync_master() -> bool:
    out = subprocess.run(["ipvsadm", "-Ln", "--daemon"], capture_output=True, text=True).stdout
    return "master sync daemon" in out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("vip")
    parser.add_argument("port", type=int)
    parser.add_argument("iface")
    parser.add_argument("--real-servers", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600)
    opts = parser.parse_args()
    key = ServiceKey("tcp", opts.vip, opts.port)
    seen: dict[str, float] = {}
    deadline = time.monotonic() + opts.timeout
    checks = {
        "vip": lambda: has_vip(opts.vip, opts.iface),
        "service": lambda: service_state(key)[0],
        "real_servers": lambda: service_state(key)[1] >= opts.real_servers,
        "sync_master": sync_master,
    }
    while len(seen) < len(checks) and time.monotonic() < deadline:
        for name, check in checks.items():
            if name not in seen and check():
                seen[name] = time.time()
                print(json.dumps({"up": name, "t": round(seen[name], 3)}), flush=True)
        time.sleep(0.1)
    return 0 if len(seen) == len(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
