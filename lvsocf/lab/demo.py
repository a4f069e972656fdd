"""`make demo`: the shipped crm example 2 (DR service + IPVSSync promotable clone), adapted
only in addresses and interfaces, on two Pacemaker/Corosync directors inside the lab VM
(real IPVS kernel). Kills the active director, fails back after warm-up, and prints a short
report: the cluster, a timeline, connections kept/lost, failover time.
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from lvsocf.lab import failover, vm


def example_config() -> str:
    return failover.adapt((failover.REPO / failover.EXAMPLE).read_text())


def main() -> int:
    print(__doc__)
    with tempfile.TemporaryDirectory(prefix="lvsocf-demo-") as tmp:
        work = Path(tmp)
        cib = work / "cib.xml"
        cib.write_text(failover.build_cib(example_config(), work, failover.PROPERTIES))
        result = work / "result.json"
        rc = vm.run([sys.executable, "-m", "lvsocf.lab.failover", "--cib", str(cib),
                     "--json", str(result)], cwd=str(failover.REPO), timeout=2400,
                    shares=[work])
        if result.exists():
            data = json.loads(result.read_text())
            print(f"\ndemo result: failover {data['failover']}, "
                  f"connections kept {data['clients'].get('kept')}/"
                  f"{data['clients'].get('total')}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
