"""What the check kinds declare (lvsocf.checks.spec): their parameters, which make the
IPVSRealServer meta-data, and their typed, frozen options objects."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from lvsocf.agents import realserver
from lvsocf.agents.base import ConfigError
from lvsocf.agents.metadata import render
from lvsocf.checks import CheckConfigError, Target, build_checker, spec
from lvsocf.checks.spec.dns import DnsOptions
from lvsocf.checks.spec.external import ExternalOptions
from lvsocf.checks.spec.http import HttpOptions
from lvsocf.checks.spec.udp import UdpOptions
from lvsocf.engine import registry

AGENT = Path(__file__).resolve().parents[3] / "agents" / "IPVSRealServer"
T = Target("127.0.0.1", 80)


def _metadata() -> dict[str, etree._Element]:
    root = etree.fromstring(render(realserver.AGENT, "1.1"))
    return {p.get("name"): p for p in root.iter("parameter")}


@pytest.mark.parametrize("param", spec.PARAMETERS, ids=lambda p: p.name)
def test_every_declared_check_parameter_is_in_the_agent_metadata(param):
    shown = _metadata()[param.name]
    content = shown.find("content")
    assert content.get("type") == ("string" if param.type == "time" else param.type)
    assert content.get("default") == param.default
    assert shown.findtext("shortdesc").strip() == param.shortdesc
    assert shown.get("reloadable") == "1"


def test_the_agent_declares_no_check_parameter_of_its_own():
    """The check parameters come from the kinds, in their order, one block."""
    names = [p.name for p in realserver.PARAMETERS]
    first = names.index("check_type")
    assert names[first:first + len(spec.PARAMETERS)] == [p.name for p in spec.PARAMETERS]
    assert set(spec.OPTION_NAMES) <= set(names)


@pytest.mark.parametrize("options", [HttpOptions, UdpOptions, DnsOptions, ExternalOptions])
def test_options_are_frozen_and_default_from_the_declarations(options):
    made = options.of({})
    declared = {p.name: p for p in options.USES}
    for f in dataclasses.fields(options):
        default = declared[f.name].default_value
        assert getattr(made, f.name) == ("" if default is None else default)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.__setattr__(dataclasses.fields(options)[0].name, "x")


def test_typed_values_are_kept_and_old_text_is_converted_with_the_ocf_words():
    assert HttpOptions.of({"tls_verify": False, "reuse_connection": True}).tls_verify is False
    # a record written before options were typed held text: converted, one vocabulary
    old = HttpOptions.of({"tls_verify": "false", "reuse_connection": "ja"})
    assert old.tls_verify is False and old.reuse_connection is True
    assert spec.target({"check_port": "8080"}, "10.0.0.1", 80) == Target("10.0.0.1", 8080)
    assert spec.target({"check_port": 8080, "check_address": "10.0.0.9"}, "10.0.0.1", 80) \
        == Target("10.0.0.9", 8080)
    assert spec.target({}, "10.0.0.1", 0) == Target("10.0.0.1", None)


@pytest.mark.parametrize("values,name", [
    ({"tls_verify": "maybe"}, "tls_verify"),
    ({"tls_verify": 1}, "tls_verify"),
    ({"reuse_connection": [True]}, "reuse_connection"),
    ({"request": 5}, "request"),
])
def test_a_bad_typed_option_names_it(values, name):
    with pytest.raises(CheckConfigError, match=f"^{name}: "):
        build_checker("http", T, values)


@pytest.mark.parametrize("port", [True, 0, 70000, "http", 1.5])
def test_a_bad_check_port_names_it(port):
    with pytest.raises(CheckConfigError, match="^check_port: "):
        spec.target({"check_port": port}, "10.0.0.1", 80)


def test_the_checker_gets_its_options_object():
    options = HttpOptions.of({"request": "/health", "tls_verify": False})
    checker = build_checker("https", T, options)
    assert checker.path == "/health" and checker.verify is False
    with pytest.raises(CheckConfigError, match="check_type"):
        build_checker("dns", T, options)


def test_an_old_record_with_text_options_runs_typed():
    old = {"service": {"protocol": "tcp", "address": "10.0.0.1", "port": 443},
           "real_server": {"address": "10.0.1.1", "port": 443},
           "check": {"kind": "https", "options": {"tls_verify": "false",
                                                   "check_port": "8443"}}}
    reg = registry.parse("old", old)
    checker = build_checker(reg.check.kind, reg.target, reg.check.option_map)
    assert checker.verify is False and checker.port == 8443


def test_validate_refuses_a_bad_typed_value_as_a_config_error():
    params = {"vip": "10.0.0.1", "port": 80, "rip": "10.0.1.1", "check_type": "http",
              "tls_verify": "maybe"}
    with pytest.raises(ConfigError, match="tls_verify"):
        realserver.validate(params, 0)


@pytest.mark.parametrize("name,value", [("tls_verify", "maybe"), ("check_port", "http"),
                                        ("reuse_connection", "2")])
def test_the_agent_exits_6_on_a_bad_typed_value(tmp_path, name, value):
    env = {"PATH": os.environ["PATH"], "OCF_ROOT": "/usr/lib/ocf",
           "OCF_RESOURCE_INSTANCE": "rs", "LVSOCF_STATE_DIR": str(tmp_path),
           "OCF_RESKEY_vip": "10.0.0.1", "OCF_RESKEY_port": "80",
           "OCF_RESKEY_rip": "10.0.1.1", "OCF_RESKEY_check_type": "http",
           f"OCF_RESKEY_{name}": value}
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    done = subprocess.run([sys.executable, str(AGENT), "validate-all"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 6, done.stderr
    assert f"ocf-exit-reason:parameter {name}:" in done.stderr
