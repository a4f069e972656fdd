"""The installed product inside the lab VM (real IPVS kernel): the .deb installed with dpkg,
then the .rpm's payload unpacked with rpm2cpio, on the VM's overlay root. Every agent, engine
and command runs from the installed files with Debian's /usr/bin/python3 and a clean
environment: no PYTHONPATH, no venv, working directory /. The checkout only drives the tests.

The packages come from LVSOCF_DIST (`make test-installed` builds them into build/dist).
"""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab import product
from lab.netns import run, unshare_net

REPO = Path(__file__).resolve().parents[2]
AGENT_DIR = product.PROVIDER_DIR
CLEAN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Installed:
    kind: str       # deb | rpm
    package: Path


def _one(pattern: str) -> Path:
    dist = Path(os.environ.get("LVSOCF_DIST", REPO / "build" / "dist"))
    found = sorted(dist.glob(pattern))
    if len(found) != 1:
        pytest.fail(f"expected one {pattern} in {dist}, found {found}: run `make test-installed`")
    return found[0]


@pytest.fixture(scope="session", params=["deb", "rpm"])
def installed(request) -> Installed:
    """The package installed; session-scoped and parametrized, so every test runs on the .deb
    first, then the .deb is purged and the same tests run on the .rpm's files."""
    if request.param == "deb":
        deb = _one("lvsocf_*_all.deb")
        product.install_deb(deb)
        yield Installed("deb", deb)
        product.purge_deb()
    else:
        rpm = _one("lvsocf-*.noarch.rpm")
        product.install_rpm(rpm)
        yield Installed("rpm", rpm)
        product.remove_rpm(rpm)


@pytest.fixture(autouse=True)
def fresh_netns():
    unshare_net()


class Agent:
    """An installed agent run as Pacemaker runs it: a clean environment, the OCF variables."""

    def __init__(self, name: str, state_dir: Path) -> None:
        self.path = str(AGENT_DIR / name)
        self.state_dir = state_dir

    def env(self, instance: str, params: dict, extra: dict | None = None) -> dict[str, str]:
        env = {"PATH": CLEAN_PATH, "OCF_ROOT": "/usr/lib/ocf", "OCF_RESOURCE_INSTANCE": instance,
               "LVSOCF_STATE_DIR": str(self.state_dir), "OCF_RESKEY_CRM_meta_timeout": "120000"}
        env.update({f"OCF_RESKEY_{k}": str(v) for k, v in params.items()})
        env.update(extra or {})
        return env

    def __call__(self, action: str, instance: str = "rsc", env: dict | None = None,
                 **params) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([self.path, action], env=self.env(instance, params, env),
                              capture_output=True, text=True, timeout=300, cwd="/")
        assert "Traceback" not in done.stdout + done.stderr, done.stderr
        return done


@pytest.fixture
def agents(installed: Installed, tmp_path: Path):
    state_dir = tmp_path / "state"
    return lambda name: Agent(name, state_dir)


def installed_command(*argv: str, state_dir: Path | None = None,
                      check: bool = True) -> subprocess.CompletedProcess[str]:
    """`lvsocf ...` as installed (/usr/bin/lvsocf), clean environment."""
    env = {"PATH": CLEAN_PATH, "LANG": "C.UTF-8"}
    if state_dir is not None:
        env["LVSOCF_STATE_DIR"] = str(state_dir)
    done = subprocess.run(["/usr/bin/lvsocf", *argv], env=env, capture_output=True, text=True,
                          timeout=300, cwd="/")
    if check:
        assert done.returncode == 0, done.stderr
    return done


def sync_interface(name: str = "sync0") -> str:
    run(["ip", "link", "add", name, "type", "dummy"])
    run(["ip", "addr", "add", "192.0.2.1/24", "dev", name])
    run(["ip", "link", "set", name, "up", "multicast", "on"])
    return name
