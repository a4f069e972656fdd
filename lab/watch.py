"""Run inside a director: print one JSON line the first moment each piece of the LVS stack
is up on this node (VIP, service, real servers with weight, sync master), then exit.

It watches in-process, without a program run per look (a fork and exec every 0.1 s costs a
TCG guest a good part of a vCPU, which the takeover it measures would then lack): the VIP
by binding a socket to it, the service from /proc/net/ip_vs, the sync master over one
netlink socket. Prints {"ready": true} first.

    python -m lab.watch VIP PORT [--real-servers N] [--timeout S]
"""
from __future__ import annotations

import argparse
import json
import socket
import sys
import time

from lvsocf.ipvs import proc
from lvsocf.ipvs.model import ServiceKey
from lvsocf.ipvs.netlink import Ipvs


def has_vip(vip: str) -> bool:
    """Whether `vip` is an address of this namespace (bind fails with EADDRNOTAVAIL)."""
    family = socket.AF_INET6 if ":" in vip else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((vip, 0))
        except OSError:
            return False
    return True


def service_state(key: ServiceKey) -> tuple[bool, int]:
    for svc in proc.read_services() or ():
        if svc.matches(key):
            return True, sum(1 for rs in svc.real_servers if rs.weight > 0)
    return False, 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("vip")
    parser.add_argument("port", type=int)
    parser.add_argument("--real-servers", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600)
    opts = parser.parse_args()
    key = ServiceKey("tcp", opts.vip, opts.port)
    seen: dict[str, float] = {}
    deadline = time.monotonic() + opts.timeout
    k = Ipvs()
    checks = {
        "vip": lambda: has_vip(opts.vip),
        "service": lambda: service_state(key)[0],
        "real_servers": lambda: service_state(key)[1] >= opts.real_servers,
        "sync_master": lambda: any(d.state == "master" for d in k.daemons()),
    }
    print(json.dumps({"ready": True}), flush=True)
    while len(seen) < len(checks) and time.monotonic() < deadline:
        for name, check in checks.items():
            if name not in seen and check():
                seen[name] = time.time()
                print(json.dumps({"up": name, "t": round(seen[name], 3)}), flush=True)
        time.sleep(0.1)
    return 0 if len(seen) == len(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
