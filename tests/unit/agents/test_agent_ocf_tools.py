"""The sample agents under the real tools: ocf-tester, and pcs/crmsh reading 1.1 meta-data."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from agent_harness import clean_env, needs_ocf, world_readable_dir, write_wrappers
from sample_agent import DUMMY

OCF_TESTER = Path("/usr/sbin/ocf-tester")
RESOURCE_D = Path("/usr/lib/ocf/resource.d")

pytestmark = needs_ocf


@pytest.mark.skipif(not OCF_TESTER.exists(), reason="ocf-tester missing (resource-agents)")
@pytest.mark.skipif(shutil.which("xmllint") is None, reason="xmllint missing")
@pytest.mark.parametrize("name", ["SampleDummy", "SamplePromotable"])
def test_ocf_tester_passes(agents: dict[str, Path], state_dir: Path, name: str) -> None:
    if os.geteuid() == 0:  # ocf-tester runs meta-data as nobody: the path must be readable
        done = subprocess.run(["su", "nobody", "-s", "/bin/sh", "-c",
                               f"{agents[name]} meta-data"], capture_output=True, check=False)
        assert done.returncode == 0, done.stderr
    done = subprocess.run(
        [str(OCF_TESTER), "-n", "t", "-o", f"state={state_dir}/state", "-o", "count=3",
         "-o", "note=<&>", str(agents[name])],
        env=clean_env(), capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "passed all tests" in done.stdout


@pytest.fixture
def installed_provider() -> str:
    """SampleDummy installed as ocf:lvsocf-unittest-PID:SampleDummy for pcs and crmsh."""
    if os.geteuid() != 0 or not RESOURCE_D.is_dir():
        pytest.skip("needs root and /usr/lib/ocf/resource.d")
    provider = f"lvsocf-unittest-{os.getpid()}"
    directory = world_readable_dir("lvsocf-provider-")
    write_wrappers(directory)
    link = RESOURCE_D / provider
    link.symlink_to(directory)
    try:
        yield provider
    finally:
        link.unlink()
        shutil.rmtree(directory)


@pytest.mark.parametrize("tool", ["pcs", "crm"])
def test_pcs_and_crmsh_show_every_parameter(installed_provider: str, tool: str) -> None:
    """Both read the 1.1 rendering through crm_resource; pcs' text never shows defaults
    (not for stock agents either), crmsh shows shortdesc, type and default too."""
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} missing")
    agent = f"ocf:{installed_provider}:SampleDummy"
    argv = ["pcs", "resource", "describe", "--full", agent] if tool == "pcs" else \
        ["crm", "ra", "info", agent]
    done = subprocess.run(argv, env=clean_env(), capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0 and "ERROR" not in done.stderr, done.stdout + done.stderr
    out = " ".join(done.stdout.split())
    assert "reload-agent" in out  # the 1.1 rendering reached the tool
    assert "Allowed values: fast, slow." in out
    for p in DUMMY.parameters:
        assert p.name in out and " ".join(p.longdesc.split()) in out, p.name
        if tool == "crm":
            assert f"): {p.shortdesc}" in out, p.name
            if p.default is not None:
                assert f"[{p.default}]" in out, p.name
