"""Meta-data: OCF 1.1 against the RelaxNG, OCF 1.0 against ra-api-1.dtd, and the rule between."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from agent_harness import run_agent
from lxml import etree
from sample_agent import DUMMY, PROMOTABLE

from lvsocf import __version__
from lvsocf.agents.metadata import render, version_for

RNG = Path("/usr/share/pcs/data/ocf-1.1.rng")
RNG_1_0 = Path("/usr/share/pcs/data/ocf-1.0.rng")
DTD_DIR = Path("/usr/share/resource-agents")
needs_xmllint = pytest.mark.skipif(shutil.which("xmllint") is None, reason="xmllint missing")


def xmllint(argv: list[str], xml: bytes, cwd: Path | None = None) -> None:
    done = subprocess.run(["xmllint", "--noout", *argv, "-"], input=xml, cwd=cwd,
                          capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()


@needs_xmllint
@pytest.mark.skipif(not RNG.exists(), reason="pcs' ocf-1.1.rng missing")
@pytest.mark.parametrize("agent", [DUMMY, PROMOTABLE], ids=lambda a: a.name)
def test_1_1_validates_against_relaxng(agent) -> None:
    xmllint(["--relaxng", str(RNG)], render(agent, "1.1"))


@needs_xmllint
@pytest.mark.skipif(not (DTD_DIR / "ra-api-1.dtd").exists(), reason="ra-api-1.dtd missing")
@pytest.mark.parametrize("agent", [DUMMY, PROMOTABLE], ids=lambda a: a.name)
def test_1_0_validates_against_dtd_like_ocf_tester(agent) -> None:
    xmllint(["--valid"], render(agent, "1.0"), cwd=DTD_DIR)


@needs_xmllint
@pytest.mark.skipif(not RNG_1_0.exists(), reason="pcs' ocf-1.0.rng missing")
def test_1_0_also_satisfies_pcs_1_0_schema() -> None:
    xmllint(["--relaxng", str(RNG_1_0)], render(PROMOTABLE, "1.0"), cwd=DTD_DIR)


def parse(agent, version: str) -> etree._Element:
    return etree.fromstring(render(agent, version))


def param(root: etree._Element, name: str) -> etree._Element:
    return root.find(f"parameters/parameter[@name='{name}']")


def test_1_1_has_the_1_1_features() -> None:
    root = parse(PROMOTABLE, "1.1")
    assert root.findtext("version") == "1.1" and root.get("version") == __version__
    assert param(root, "state").get("unique-group") == "state"
    assert param(root, "pair_a").get("unique-group") == param(root, "pair_b").get("unique-group")
    assert param(root, "state").get("unique") is None
    assert param(root, "fake").get("reloadable") == "1"
    mode = param(root, "mode").find("content")
    assert mode.get("type") == "select" and mode.get("default") == "fast"
    assert [o.get("value") for o in mode.findall("option")] == ["fast", "slow"]
    assert param(root, "delay").find("content").get("type") == "string"
    assert param(root, "old_fake").find("deprecated/replaced-with").get("name") == "fake"
    actions = {(a.get("name"), a.get("role"), a.get("depth")) for a in root.iter("action")}
    assert {("reload-agent", None, None), ("monitor", "Promoted", "0"),
            ("monitor", "Unpromoted", "0"), ("validate-all", None, "0"),
            ("validate-all", None, "10")} <= actions
    assert all(a.get("timeout") for a in root.iter("action"))


def test_1_0_maps_what_the_dtd_lacks() -> None:
    xml = render(PROMOTABLE, "1.0")
    assert b'<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">' in xml
    root = etree.fromstring(xml)
    assert root.findtext("version") == "1.0"
    assert param(root, "state").get("unique") == "1"
    assert param(root, "pair_a").get("unique") is None  # a pair has no 1.0 equivalent
    assert not any(p.get("unique-group") or p.get("reloadable") for p in root.iter("parameter"))
    mode = param(root, "mode")
    assert mode.find("content").get("type") == "string"
    assert "Allowed values: fast, slow." in mode.findtext("longdesc")
    assert param(root, "delay").find("content").get("type") == "time"
    assert param(root, "old_fake").find("deprecated") is None
    assert param(root, "old_fake").findtext("shortdesc").startswith("Deprecated")
    names = [a.get("name") for a in root.iter("action")]
    assert "reload-agent" not in names and "promote" in names
    assert {a.get("role") for a in root.iter("action")} == {None, "Master", "Slave"}


@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_every_parameter_has_descriptions_and_defaults(version: str) -> None:
    root = parse(DUMMY, version)
    for p in DUMMY.parameters:
        el = param(root, p.name)
        assert el.findtext("shortdesc") and el.findtext("longdesc")
        assert el.find("content").get("default") == p.default
        assert (el.get("required") == "1") == p.required


def test_metacharacters_are_escaped_and_round_trip() -> None:
    root = parse(DUMMY, "1.1")
    assert param(root, "note").findtext("shortdesc") == 'Escaping <&> "test"'
    assert "]]>" in param(root, "note").findtext("longdesc")
    assert "<resource-agent> &" in root.findtext("longdesc")


def test_descriptions_are_dedented() -> None:
    root = parse(DUMMY, "1.1")
    assert param(root, "state").findtext("longdesc").startswith("Location of the state file.")
    assert root.findtext("longdesc").splitlines()[1].startswith("Its longdesc")


@pytest.mark.parametrize(("env", "version"), [
    ({}, "1.0"),                                                       # ocf-tester, a shell
    ({"OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": "1"}, "1.1"),  # pacemaker 2.1
    ({"OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": "0"}, "1.0"),  # pacemaker 1.x
    ({"OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": "2"}, "1.1"),
    ({"OCF_RA_VERSION_MAJOR": "2", "OCF_RA_VERSION_MINOR": "0"}, "1.1"),
    ({"OCF_RA_VERSION_MAJOR": "1"}, "1.0"),
    ({"OCF_RA_VERSION_MAJOR": "x", "OCF_RA_VERSION_MINOR": "1"}, "1.0"),
])
def test_version_rule(env: dict[str, str], version: str) -> None:
    assert version_for(env) == version


def test_unsupported_version() -> None:
    with pytest.raises(ValueError):
        render(DUMMY, "2.0")


def test_executable_renders_by_the_rule(agents: dict[str, Path]) -> None:
    plain = run_agent(agents["SampleDummy"], "meta-data")
    assert plain.returncode == 0 and "<version>1.0</version>" in plain.stdout
    v11 = run_agent(agents["SampleDummy"], "meta-data",
                    OCF_RA_VERSION_MAJOR="1", OCF_RA_VERSION_MINOR="1")
    assert v11.returncode == 0 and "<version>1.1</version>" in v11.stdout
    assert plain.stderr == v11.stderr == ""
