"""bench/apply: add 5,000 real servers (50 services x 100) and read them back, through
lvsocf.ipvs and through `ipvsadm -R` / `ipvsadm -Sn`, in the same (VM) run. Prints ratios.

    python -m lab.vm -- .venv/bin/python -m bench.apply [--services N --per-service M]

The read is like for like: lvsocf's table read (rules, weights, connection counts: what the
engine reads) against `ipvsadm -Sn` (the rules), and the same with every real server's
counters against `ipvsadm -Ln --stats --exact`.

Two ways of measuring lvsocf, both printed:
- in process (the ratio the goal is about): how the engine and the agents use the door, from a
  running Python; the first apply includes importing lvsocf.ipvs, interpreter start-up is not
  included. ipvsadm is a whole command each time (exec, libnl set-up, parsing or printing).
- whole process: `python -c` doing the same, against the same ipvsadm figures; this adds the
  interpreter's start-up, which is printed on its own too.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time

from bench.figures import median, ratio, spread

SERVICES, PER_SERVICE = 50, 100


def rules(services: int, per_service: int) -> list[str]:
    lines = []
    for s in range(services):
        vip = f"10.0.{s}.1:80"
        lines.append(f"-A -t {vip} -s wrr")
        lines += [f"-a -t {vip} -r 10.{100 + s // 100}.{s % 100}.{r + 2}:80 -m -w 1"
                  for r in range(per_service)]
    return lines


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def ipvsadm_apply(services: int, per_service: int) -> None:
    subprocess.run(["ipvsadm", "-R"], input="\n".join(rules(services, per_service)) + "\n",
                   text=True, check=True)


def ipvsadm_read() -> int:
    return subprocess.run(["ipvsadm", "-Sn"], capture_output=True, text=True,
                          check=True).stdout.count("\n-a")


def ipvsadm_read_counters() -> int:
    out = subprocess.run(["ipvsadm", "-Ln", "--stats", "--exact"], capture_output=True,
                         text=True, check=True).stdout
    return sum(1 for line in out.splitlines()[3:] if line.startswith("  -> "))


def lvsocf_apply(services: int, per_service: int) -> None:
    from lvsocf.ipvs.model import RealServer, Service, ServiceKey
    from lvsocf.ipvs.netlink import Ipvs
    from lvsocf.ipvs.op import Op
    batch = []
    for s in range(services):
        key = ServiceKey("tcp", f"10.0.{s}.1", 80)
        batch.append(Op.add_service(Service(key, scheduler="wrr")))
        batch += [Op.add_real_server(key, RealServer(f"10.{100 + s // 100}.{s % 100}.{r + 2}",
                                                     80, "masq", 1))
                  for r in range(per_service)]
    with Ipvs() as k:
        failed = [e for e in k.apply(batch) if e is not None]
    assert not failed, failed[:3]


def lvsocf_read(counters: bool = False) -> int:
    """The whole table: rules, weights and connection counts (what the engine reads, and
    more than `ipvsadm -Sn` prints); with `counters`, also every real server's counters."""
    from lvsocf.ipvs.netlink import Ipvs, iter_services
    with Ipvs() as k:
        return sum(len(rs) for _, rs in iter_services(k, stats=counters))


def whole_process(call: str) -> None:
    subprocess.run([sys.executable, "-c", f"import bench.apply as b; {call}"], check=True)


def flush() -> None:
    subprocess.run(["ipvsadm", "-C"], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=SERVICES)
    parser.add_argument("--per-service", type=int, default=PER_SERVICE)
    parser.add_argument("--repeat", type=int, default=9,
                        help="runs of each measurement, interleaved; the median is compared")
    opts = parser.parse_args()
    n, m, repeat = opts.services, opts.per_service, opts.repeat
    from lab.netns import unshare_net
    unshare_net()     # a fresh namespace with lo up: real servers need unicast routes
    subprocess.run(["modprobe", "ip_vs"], check=True)
    subprocess.run(["modprobe", "ip_vs_wrr"], check=True)
    total = n * m

    def check(counted: int, who: str) -> None:
        if counted != total:
            sys.exit(f"{who} read {counted} of {total} real servers")

    t: dict[str, list[float]] = {}

    def measure(name: str, fn) -> None:
        t.setdefault(name, []).append(timed(fn))

    for _ in range(repeat):
        measure("ipvsadm apply", lambda: ipvsadm_apply(n, m))
        measure("ipvsadm read", lambda: check(ipvsadm_read(), "ipvsadm"))
        measure("lvsocf read", lambda: check(lvsocf_read(), "lvsocf"))
        measure("ipvsadm counters", lambda: check(ipvsadm_read_counters(), "ipvsadm --stats"))
        measure("lvsocf counters", lambda: check(lvsocf_read(counters=True), "lvsocf"))
        flush()
        measure("lvsocf apply", lambda: lvsocf_apply(n, m))
        check(ipvsadm_read(), "ipvsadm after lvsocf's apply")
        flush()
    for _ in range(repeat):
        measure("start", lambda: subprocess.run([sys.executable, "-c", "pass"], check=True))
        measure("lvsocf apply process", lambda: whole_process(f"b.lvsocf_apply({n}, {m})"))
        check(ipvsadm_read(), "ipvsadm after lvsocf's whole-process apply")
        measure("lvsocf read process",
                lambda: whole_process(f"assert b.lvsocf_read() == {total}"))
        flush()

    def row(label: str, mine: str, peer: str | None = None, peer_key: str = "") -> str:
        theirs = f"{peer} {spread(t[peer_key], digits=2)}  " if peer else ""
        return (f"    {label}: {theirs}lvsocf {spread(t[mine], digits=2)}  ratio lvsocf/ipvsadm "
                f"{ratio(median(t[mine]), median(t[peer_key]))}")

    print(f"bench/apply: {total} real servers in {n} services, same kernel; median "
          f"(min-max) of {repeat} interleaved runs; ratios of the medians")
    print("  in process (lvsocf from a running Python, its first apply imports lvsocf.ipvs; "
          "ipvsadm as a whole command):")
    print(row("apply", "lvsocf apply", "ipvsadm -R", "ipvsadm apply"))
    print(row("read", "lvsocf read", "ipvsadm -Sn", "ipvsadm read"))
    print(row("read with counters", "lvsocf counters", "ipvsadm -Ln --stats --exact",
              "ipvsadm counters"))
    print(f"  whole process (python -c, its interpreter start-up of "
          f"{spread(t['start'], digits=2)} included):")
    print(row("apply", "lvsocf apply process", peer_key="ipvsadm apply"))
    print(row("read", "lvsocf read process", peer_key="ipvsadm read"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
