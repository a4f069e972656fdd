"""agents/IPVSSync run as Pacemaker runs it, on the host (no IPVS here): meta-data, exit
codes of validation and of actions that need the kernel."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
AGENT = REPO / "agents" / "IPVSSync"
OCF_PY = Path("/usr/lib/ocf/lib/heartbeat/ocf.py")
needs_ocf = pytest.mark.skipif(not OCF_PY.exists(), reason="resource-agents' ocf.py missing")


def agent(action: str, tmp_path: Path, **params: object) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OCF_", "HA_"))}
    env.update(OCF_ROOT="/usr/lib/ocf", OCF_RESOURCE_INSTANCE="sync",
               LVSOCF_STATE_DIR=str(tmp_path / "state"))
    env.update({f"OCF_RESKEY_{k}": str(v) for k, v in params.items()})
    done = subprocess.run([sys.executable, str(AGENT), action], env=env, capture_output=True,
                          text=True, timeout=60)
    assert "Traceback" not in done.stderr, done.stderr
    return done


@pytest.mark.skipif(shutil.which("xmllint") is None, reason="xmllint missing")
@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_meta_data_is_valid(tmp_path, version):
    env = {**os.environ, "OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": version[-1]}
    xml = subprocess.run([sys.executable, str(AGENT), "meta-data"], env=env, check=True,
                         capture_output=True).stdout
    if version == "1.0":
        dtd_dir = Path("/usr/share/resource-agents")
        if not (dtd_dir / "ra-api-1.dtd").exists():
            pytest.skip("ra-api-1.dtd missing")
        argv, cwd = ["xmllint", "--noout", "--valid", "-"], dtd_dir
    else:
        rng = Path("/usr/share/pcs/data/ocf-1.1.rng")
        if not rng.exists():
            pytest.skip("OCF 1.1 RelaxNG missing")
        argv, cwd = ["xmllint", "--noout", "--relaxng", str(rng), "-"], tmp_path
    done = subprocess.run(argv, input=xml, cwd=cwd, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    text = xml.decode()
    for name in ("interface", "syncid", "mcast_group", "mcast_port", "mcast_ttl", "maxlen",
                 "sync_threshold", "sync_refresh_period", "sync_retries", "backup_only",
                 "sloppy_tcp", "timeout_tcp", "timeout_tcpfin", "timeout_udp", "warmup"):
        assert f'name="{name}"' in text
    for action in ("promote", "demote", "notify"):
        assert f'name="{action}"' in text


@needs_ocf
@pytest.mark.parametrize("params,rc,words", [
    ({"interface": "sync0"}, 0, ""),
    ({}, 6, "interface is not set"),
    ({"interface": "sync0", "syncid": 256}, 6, "above 255"),
    ({"interface": "sync0", "mcast_group": "10.1.1.1"}, 6, "not a multicast address"),
    ({"interface": "sync0", "sync_refresh_period": 30, "timeout_tcp": 20}, 6,
     "not shorter than timeout_tcp"),
    ({"interface": "sync0", "sync_refresh_period": 0}, 6, "never syncs"),
    ({"interface": "sync0", "sync_threshold": "3"}, 6, "not two numbers"),
])
def test_validate_all(tmp_path, params, rc, words):
    done = agent("validate-all", tmp_path, **params)
    assert done.returncode == rc, done.stderr
    if words:
        assert "ocf-exit-reason:" in done.stderr and words in done.stderr


def _ipvs_here() -> bool:
    """IPVS is in this kernel or its modules can be loaded (modprobe --dry-run)."""
    if Path("/proc/net/ip_vs").exists():
        return True
    return subprocess.run(["modprobe", "-n", "-q", "ip_vs"], capture_output=True).returncode == 0


@needs_ocf
@pytest.mark.kernel_dependent
def test_without_ipvs(tmp_path):
    if _ipvs_here():
        pytest.skip("not on this kernel: it has IPVS; the kernel tests cover it")
    assert agent("monitor", tmp_path, interface="lo").returncode == 7          # probe
    assert agent("stop", tmp_path, interface="lo").returncode == 0
    assert agent("stop", tmp_path).returncode == 0        # even with unusable parameters
    assert agent("notify", tmp_path, interface="lo").returncode == 0
    done = agent("start", tmp_path, interface="lo")
    assert done.returncode == 5, done.stderr
    assert "IPVS is not available" in done.stderr
    assert agent("validate-all", tmp_path, interface="nosuchif0").returncode == 0  # depth 0


@needs_ocf
@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="needs root and unshare")
def test_depth_10_interface_checks(tmp_path):
    """In a fresh network namespace lo is down and has no IPv4 address."""
    code = ("import sys; from lvsocf.agents.sync import validation; from lvsocf.agents.base "
            "import ArgsError\ntry:\n    validation.check_host({'interface': sys.argv[1], "
            "'mcast_group': sys.argv[2]}, None)\nexcept ArgsError as e:\n    print(e)")
    def run(interface: str, group: str = "") -> str:
        return subprocess.run(["unshare", "-n", sys.executable, "-c", code, interface, group],
                              capture_output=True, text=True, check=True).stdout
    assert "has no IPv4 address" in run("lo")
    assert run("lo", "ff02::8848") == ""          # an IPv6 group needs no IPv4 address
    assert "does not exist" in run("eth9")


def test_netlink_backend_imports_no_pyroute2():
    """An agent or engine process talks netlink without loading any of pyroute2."""
    code = ("import sys\nfrom lvsocf.ipvs import netlink, reconcile, fallback\n"
            "print(len([m for m in sys.modules if m.startswith('pyroute2')]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == 0
