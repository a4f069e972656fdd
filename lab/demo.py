"""`make demo`: the shipped crm example 2 (DR service + IPVSSync promotable clone, in the
hot-standby layout: both directors hold the table), adapted in addresses (plus a short sync
warm-up and the README's failback rule), on two Pacemaker/Corosync directors inside the lab
VM (real IPVS kernel). Kills the active director; the survivor only promotes its sync daemon
and starts the VIP. The director comes back, reloads its table, warms up and takes the
service back by its promotion score. Prints a short report: a timeline, the agent actions
of each takeover, connections kept/lost, failover time.
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from lab import example, vm


def example_config() -> str:
    return example.adapt((example.REPO / example.EXAMPLE).read_text())


def main(argv: list[str] | None = None) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog="python -m lab.demo", description=__doc__)
    parser.add_argument("--deb", type=Path, help="run the agents of this .deb (installed "
                        "with dpkg inside the VM) instead of the checkout's")
    opts = parser.parse_args(argv)
    print(__doc__)
    if opts.deb:
        print(f"agents: installed from {opts.deb}\n")
    with tempfile.TemporaryDirectory(prefix="lvsocf-demo-") as tmp:
        work = Path(tmp)
        cib = work / "cib.xml"
        cib.write_text(example.build_cib(example_config(), work, example.PROPERTIES))
        result = work / "result.json"
        deb = ["--deb", str(opts.deb.resolve())] if opts.deb else []
        rc = vm.run([sys.executable, "-m", "lab.failover", "--cib", str(cib),
                     "--json", str(result), *deb], cwd=str(example.REPO), timeout=2400,
                    shares=[work])
        if result.exists():
            data = json.loads(result.read_text())
            print(f"\ndemo result: failover {data['failover']}, "
                  f"connections kept {data['clients'].get('kept')}/"
                  f"{data['clients'].get('total')}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
