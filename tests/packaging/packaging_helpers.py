"""Helpers of the packaging tests (conftest.py has the fixtures)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from lab.install import packaging

REPO = Path(__file__).resolve().parents[2]
# The packaging runs under Debian's Python, as `make deb` does (not the venv).
PYTHON3 = "/usr/bin/python3"
TOOLS = {  # program -> Debian package
    "dpkg-deb": "dpkg", "rpmbuild": "rpm", "rpm": "rpm", "help2man": "help2man",
    "debootstrap": "debootstrap", "make": "make",
}


pkg = packaging()   # packaging/pkg.py, loaded once by the lab's installer


def require(*programs: str) -> None:
    for program in programs:
        if shutil.which(program) is None:
            pytest.fail(f"{program} is missing: apt-get install {TOOLS.get(program, program)} "
                        "(scripts/setup installs it)")
    if not Path(PYTHON3).exists():
        pytest.fail(f"{PYTHON3} is missing: apt-get install python3")


def run(argv: list[str], *, timeout: float = 600, check: bool = True,
        **kwargs) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False,
                          stdin=subprocess.DEVNULL, **kwargs)
    if check and done.returncode != 0:
        pytest.fail(f"{' '.join(map(str, argv))} exited {done.returncode}:\n"
                    f"{done.stdout[-4000:]}{done.stderr[-4000:]}")
    return done


def make(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    return run(["make", "--no-print-directory", "-C", str(REPO), f"PYTHON3={PYTHON3}", *args],
               **kwargs)


def agent_names() -> list[str]:
    """The agents of this checkout (whatever agents/ holds at test time)."""
    return sorted(p.name for p in (REPO / "agents").iterdir()
                  if p.is_file() and not p.name.startswith(".")
                  and not p.name.endswith(pkg.IGNORED_SUFFIXES))


def is_root() -> bool:
    return os.geteuid() == 0
