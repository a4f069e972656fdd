"""`crm_simulate -S --output-as=xml` that works on Pacemaker 2.1 and 3.0.

Pacemaker 3.0.0's crm_simulate stops its XML output after the requested modifications
(`<modify_node>`, injected operations): with --node-down, -u, -i and the like the document
has no <transition> and no <revised_cluster_status>, while the text output is complete.
So the modifications are applied in a first run that only saves the modified CIB (-O), and
the transition is simulated from that CIB in a second run with no modification: the same
result as one run (modifications are injected before the scheduler runs), on every version.
Used by the crm-examples tests and the convert tests.
"""
from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

# options of the simulation itself, not modifications of the input CIB (with their value)
SIMULATION_OPTIONS = {"-t": 1, "--set-datetime": 1}


def split(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """(modifications, simulation options) of a crm_simulate argument list."""
    mods: list[str] = []
    sim: list[str] = []
    i = 0
    while i < len(args):
        takes = SIMULATION_OPTIONS.get(args[i])
        if takes is not None:
            sim += args[i:i + 1 + takes]
            i += 1 + takes
        else:
            mods.append(args[i])
            i += 1
    return mods, sim


class SimulateError(RuntimeError):
    pass


def _run(argv: list[str], timeout: float) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode:
        raise SimulateError(f"{' '.join(argv)} -> {done.returncode}\n{done.stdout}\n"
                            f"{done.stderr}")
    return done.stdout


def simulate_xml(src: Path, out: Path, *args: str, timeout: float = 120) -> str:
    """The XML of `crm_simulate -x SRC -S -O OUT --output-as=xml ARGS...` (see the module
    doc); OUT is the CIB after the simulated transition."""
    mods, sim = split(args)
    if mods:
        modified = out.with_name(out.stem + "-modified.xml")
        _run(["crm_simulate", "-x", str(src), "-O", str(modified), *mods], timeout)
        src = modified
    return _run(["crm_simulate", "-x", str(src), "-S", "-O", str(out), "--output-as=xml",
                 *sim], timeout)
