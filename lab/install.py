"""Install the agents from this checkout where Pacemaker, ocf-tester, pcs and crmsh look for
them (/usr/lib/ocf/resource.d/lvsocf/), each a copy of agents/NAME whose first line runs this
checkout's Python (the venv, which has lvsocf and pyroute2). For the lab and the tests; a
distribution package installs the agents its own way (packaging/)."""
from __future__ import annotations

import sys
from pathlib import Path

AGENTS_DIR = Path(__file__).resolve().parents[1] / "agents"
PROVIDER_DIR = Path("/usr/lib/ocf/resource.d/lvsocf")


def agent_names() -> list[str]:
    """The agents of this checkout (agents/NAME), as a package installs them too."""
    return sorted(p.name for p in AGENTS_DIR.iterdir()
                  if p.is_file() and not p.name.startswith("."))


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
        body = source.read_text().split("\n", 1)[1]
        target = dest / source.name
        tmp = target.with_suffix(".tmp")
        tmp.write_text(f"#!{python}\n{body}")
        tmp.chmod(0o755)
        tmp.replace(target)
        installed.append(target)
    return installed


if __name__ == "__main__":
    for path in install_agents():
        print(path)
