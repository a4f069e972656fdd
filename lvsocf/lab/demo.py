"""`make demo`: a failover on real IPVS and real Pacemaker inside the lab VM.

Not yet: the cluster scenario lands with the cluster-integration issue. Until then this boots
the lab VM and shows the real IPVS table being driven by lvsocf.ipvs.
"""
from __future__ import annotations

import sys

from lvsocf.lab import vm

SCRIPT = """
from lvsocf.lab.netns import unshare_net
unshare_net()
import subprocess
from lvsocf.ipvs.model import RealServer, Service, ServiceKey
from lvsocf.ipvs.netlink import Ipvs
with Ipvs() as k:
    key = ServiceKey("tcp", "198.18.0.10", 80)
    k.add_service(Service(key, scheduler="wrr"))
    k.add_real_server(key, RealServer("198.18.1.1", 80, "masq", 2))
    print("kernel IPVS", k.version()[0])
print(subprocess.run(["ipvsadm", "-Ln"], capture_output=True, text=True).stdout)
"""


def main() -> int:
    print("lvsocf demo: the cluster failover demo is not there yet; showing the IPVS lab VM.")
    return vm.run([sys.executable, "-c", SCRIPT], timeout=600)


if __name__ == "__main__":
    sys.exit(main())
