"""Helpers for the agent-base tests: sample agent executables, a clean OCF environment."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
OCF_PY = Path("/usr/lib/ocf/lib/heartbeat/ocf.py")
WRAPPER = """#!{python}
import sys
sys.path[:0] = [{repo!r}, {here!r}]
import sample_agent
sample_agent.main()
"""


def write_wrappers(directory: Path) -> dict[str, Path]:
    """Executables SampleDummy and SamplePromotable in ``directory``, run by this Python."""
    paths = {}
    for name in ("SampleDummy", "SamplePromotable"):
        path = directory / name
        path.write_text(WRAPPER.format(python=sys.executable, repo=str(REPO), here=str(HERE)))
        path.chmod(0o755)
        paths[name] = path
    return paths


def world_readable_dir(prefix: str) -> Path:
    """A fresh directory user nobody can enter (ocf-tester runs meta-data as nobody)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without any OCF/HA variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OCF_", "HA_", "__OCF", "SAMPLE_", "PCMK_"))}
    env.update(OCF_ROOT="/usr/lib/ocf", OCF_RESOURCE_INSTANCE="sample")
    env.update(extra)
    return env


def run_agent(path: Path, action: str | None, params: dict[str, str] | None = None,
              **extra: str) -> subprocess.CompletedProcess[str]:
    """Run ``path action`` with OCF_RESKEY_<name> for ``params`` and ``extra`` variables."""
    env = clean_env(**extra)
    env.update({f"OCF_RESKEY_{k}": v for k, v in (params or {}).items()})
    argv = [str(path)] + ([action] if action is not None else [])
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30,
                          check=False)


def reasons(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("ocf-exit-reason:")]


needs_ocf = pytest.mark.skipif(not OCF_PY.exists(), reason="resource-agents' ocf.py missing")
