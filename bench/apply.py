"""bench/apply: add 5,000 real servers (50 services x 100) and read them back, through
lvsocf.ipvs and through `ipvsadm -R` / `ipvsadm -Sn`, in the same (VM) run. Prints ratios.

    python -m lvsocf.lab.vm -- .venv/bin/python -m bench.apply
"""
from __future__ import annotations

import subprocess
import sys
import time

SERVICES, PER_SERVICE = 50, 100


def rules() -> list[str]:
    lines = []
    for s in range(SERVICES):
        vip = f"10.0.{s}.1:80"
        lines.append(f"-A -t {vip} -s wrr")
        lines += [f"-a -t {vip} -r 10.{100 + s // 100}.{s % 100}.{r + 2}:80 -m -w 1"
                  for r in range(PER_SERVICE)]
    return lines


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def ipvsadm_apply() -> None:
    subprocess.run(["ipvsadm", "-R"], input="\n".join(rules()) + "\n", text=True, check=True)


def ipvsadm_read() -> int:
    return subprocess.run(["ipvsadm", "-Sn"], capture_output=True, text=True,
                          check=True).stdout.count("\n-a")


def lvsocf_apply() -> None:
    from lvsocf.ipvs.model import RealServer, Service, ServiceKey
    from lvsocf.ipvs.netlink import Ipvs, ops
    batch = []
    for s in range(SERVICES):
        key = ServiceKey("tcp", f"10.0.{s}.1", 80)
        batch.append(ops.add_service(Service(key, scheduler="wrr")))
        batch += [ops.add_real_server(key, RealServer(f"10.{100 + s // 100}.{s % 100}.{r + 2}",
                                                      80, "masq", 1))
                  for r in range(PER_SERVICE)]
    with Ipvs() as k:
        failed = [e for e in k.apply(batch) if e is not None]
    assert not failed, failed[:3]


def lvsocf_read() -> int:
    from lvsocf.ipvs.netlink import Ipvs, iter_services
    with Ipvs() as k:
        return sum(len(rs) for _, rs in iter_services(k))


def flush() -> None:
    subprocess.run(["ipvsadm", "-C"], check=True)


def main() -> int:
    from lvsocf.lab.netns import unshare_net
    unshare_net()     # a fresh namespace with lo up: real servers need unicast routes
    subprocess.run(["modprobe", "ip_vs"], check=True)
    subprocess.run(["modprobe", "ip_vs_wrr"], check=True)
    total = SERVICES * PER_SERVICE
    t_ipvsadm_apply = timed(ipvsadm_apply)
    t_ipvsadm_read = timed(lambda: ipvsadm_read() == total or sys.exit("ipvsadm read short"))
    flush()
    # lvsocf timings include the import of its modules (a fresh agent pays them too)
    t_lvsocf_apply = timed(lvsocf_apply)
    counted = ipvsadm_read()
    t_lvsocf_read = timed(lambda: lvsocf_read() == total or sys.exit("lvsocf read short"))
    flush()
    assert counted == total, f"ipvsadm sees {counted} of {total} after lvsocf apply"
    print(f"bench/apply: {total} real servers in {SERVICES} services")
    print(f"  apply: ipvsadm -R {t_ipvsadm_apply:.2f}s  lvsocf {t_lvsocf_apply:.2f}s  "
          f"ratio lvsocf/ipvsadm {t_lvsocf_apply / t_ipvsadm_apply:.2f}")
    print(f"  read:  ipvsadm -Sn {t_ipvsadm_read:.2f}s  lvsocf {t_lvsocf_read:.2f}s  "
          f"ratio lvsocf/ipvsadm {t_lvsocf_read / t_ipvsadm_read:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
