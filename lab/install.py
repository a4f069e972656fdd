"""Install the agents from this checkout where Pacemaker, ocf-tester, pcs and crmsh look for
them (/usr/lib/ocf/resource.d/lvsocf/), each a copy of agents/NAME whose first line runs this
checkout's Python (the venv, which has lvsocf and pyroute2). For the lab and the tests; a
distribution package installs the agents its own way (packaging/)."""
from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path

AGENTS_DIR = Path(__file__).resolve().parents[1] / "agents"
PROVIDER_DIR = Path("/usr/lib/ocf/resource.d/lvsocf")


def agent_names() -> list[str]:
    """The agents of this checkout (agents/NAME), as a package installs them too."""
    return sorted(p.name for p in AGENTS_DIR.iterdir()
                  if p.is_file() and not p.name.startswith("."))


def installed_text(source: str, python: str) -> str:
    """agents/NAME as the lab installs it: run by `python`, or, for an agent with a bash
    monitor fast path, by bash told to use `python` and this checkout's library."""
    pkg = packaging()
    lines = source.split("\n")
    if lines[0] == pkg.BASH:
        return "\n".join(pkg.launcher_lines(lines, python, str(AGENTS_DIR.parent)))
    return "\n".join([f"#!{python}", *lines[1:]])


@functools.cache
def packaging():
    """packaging/pkg.py (a script, not a package): its rules for agent executables."""
    spec = importlib.util.spec_from_file_location("lvsocf_packaging",
                                                  AGENTS_DIR.parent / "packaging" / "pkg.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module     # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def install_agents(dest: Path = PROVIDER_DIR, python: str = sys.executable) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    dest.chmod(0o755)
    installed = []
    names = {p.name for p in AGENTS_DIR.iterdir()}
    for stale in dest.iterdir():        # the provider folder is the lab's: no leftovers
        if stale.name not in names:
            stale.unlink()
    for source in sorted(AGENTS_DIR.iterdir()):
        if not source.is_file() or source.name.startswith("."):
            continue
        target = dest / source.name
        tmp = target.with_suffix(".tmp")
        tmp.write_text(installed_text(source.read_text(), python))
        tmp.chmod(0o755)
        tmp.replace(target)
        installed.append(target)
    return installed


if __name__ == "__main__":
    for path in install_agents():
        print(path)
