"""The action runner: strict/lenient parameters, probes, exit codes and exit reasons."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from agent_harness import clean_env, needs_ocf, reasons, run_agent

from lvsocf.agents import base, ocfcompat
from lvsocf.agents.base import Action, Agent, Context, OcfError
from lvsocf.agents.errors import ConfigError

pytestmark = needs_ocf
RECURRING = {"OCF_RESKEY_CRM_meta_interval": "10000"}


@pytest.fixture
def dummy(agents: dict[str, Path]) -> Path:
    return agents["SampleDummy"]


def check(done: subprocess.CompletedProcess[str], rc: int, reason: str | None = None) -> None:
    assert done.returncode == rc, (done.stdout, done.stderr)
    assert "Traceback" not in done.stdout + done.stderr
    lines = reasons(done.stderr)
    if rc == 0:
        assert lines == []
    else:
        assert len(lines) == 1, done.stderr
    if reason is not None:
        assert reason in lines[0]


# --- probes ---------------------------------------------------------------------------

def test_probe_of_stopped_resource_is_7(dummy: Path, state_dir: Path) -> None:
    check(run_agent(dummy, "monitor", {"state": f"{state_dir}/s"}), 7, "not running")
    check(run_agent(dummy, "monitor", {"state": f"{state_dir}/s"},
                    OCF_RESKEY_CRM_meta_interval="0"), 7)


@pytest.mark.parametrize("params", [
    {},                                           # required parameter missing
    {"state": "relative"},                        # validate() fails
    {"state": "/nonexistent/dir/s", "count": "abc", "mode": "<&>"},
])
def test_probe_with_bad_configuration_is_7(dummy: Path, params: dict[str, str]) -> None:
    check(run_agent(dummy, "monitor", params), 7)


def test_probe_reports_running_despite_an_invalid_parameter(dummy: Path, state_dir: Path) -> None:
    state = {"state": f"{state_dir}/s"}
    check(run_agent(dummy, "start", state), 0)
    check(run_agent(dummy, "monitor", dict(state, count="abc")), 0)
    # the same configuration is an error outside probes
    check(run_agent(dummy, "monitor", dict(state, count="abc"), **RECURRING), 6, "count")


@pytest.mark.parametrize("knob", [{"SAMPLE_CRASH": "monitor"}, {"SAMPLE_MISSING_TOOL": "1"}])
def test_probe_errors_become_7_with_reason(dummy: Path, state_dir: Path,
                                           knob: dict[str, str]) -> None:
    check(run_agent(dummy, "monitor", {"state": f"{state_dir}/s"}, **knob), 7, "not running")


def test_crash_in_probe_of_running_resource_is_still_7(dummy: Path, state_dir: Path) -> None:
    state = {"state": f"{state_dir}/s"}
    check(run_agent(dummy, "start", state), 0)
    check(run_agent(dummy, "monitor", state, SAMPLE_CRASH="monitor"), 7, "internal error")
    check(run_agent(dummy, "monitor", state, SAMPLE_CRASH="monitor", **RECURRING), 1,
          "internal error in monitor: RuntimeError: sample crash <&> second line")


# --- strict and lenient actions -------------------------------------------------------

def test_required_parameters_are_enforced_on_start_validate_and_recurring_monitor(
        dummy: Path) -> None:
    for action, extra in (("start", {}), ("validate-all", {}), ("monitor", RECURRING),
                          ("reload-agent", {})):
        check(run_agent(dummy, action, **extra), 6, "required parameter state is not set")


def test_stop_without_parameters_succeeds(dummy: Path) -> None:
    check(run_agent(dummy, "stop"), 0)
    check(run_agent(dummy, "stop", {"state": "relative", "count": "-5"}), 0)


def test_stop_with_invalid_parameters_still_stops(dummy: Path, state_dir: Path) -> None:
    state = {"state": f"{state_dir}/s"}
    check(run_agent(dummy, "start", state), 0)
    check(run_agent(dummy, "stop", dict(state, count="abc", delay="forever")), 0)
    assert not (state_dir / "s").exists()


def test_start_maps_validation_errors(dummy: Path, state_dir: Path) -> None:
    check(run_agent(dummy, "start", {"state": "relative"}), 6, "absolute path")
    check(run_agent(dummy, "start", {"state": "/nonexistent/dir/s"}), 2, "does not exist")
    check(run_agent(dummy, "start", {"state": f"{state_dir}/s"}, SAMPLE_MISSING_TOOL="1"), 5,
          "not installed")
    check(run_agent(dummy, "start", {"state": f"{state_dir}/s", "count": "101"}), 6,
          "parameter count: '101' is above 100")


def test_validate_all_depth(dummy: Path) -> None:
    off_node = {"state": "/nonexistent/dir/s"}
    check(run_agent(dummy, "validate-all", off_node), 0)
    check(run_agent(dummy, "validate-all", off_node, OCF_CHECK_LEVEL="0"), 0)
    check(run_agent(dummy, "validate-all", off_node, OCF_CHECK_LEVEL="10"), 2)
    check(run_agent(dummy, "validate-all", off_node, OCF_CHECK_LEVEL="20"), 2)
    check(run_agent(dummy, "validate-all", off_node, OCF_CHECK_LEVEL="junk"), 0)


def test_crash_is_generic_error_without_traceback(dummy: Path, state_dir: Path) -> None:
    done = run_agent(dummy, "start", {"state": f"{state_dir}/s"}, SAMPLE_CRASH="start")
    check(done, 1, "internal error in start: RuntimeError")


def test_traceback_goes_to_the_debug_log(dummy: Path, state_dir: Path) -> None:
    log = state_dir / "agent.log"
    done = run_agent(dummy, "start", {"state": f"{state_dir}/s"}, SAMPLE_CRASH="start",
                     HA_debug="1", HA_LOGFILE=str(log))
    check(done, 1)
    text = log.read_text()
    assert "Traceback" in text and "RuntimeError: sample crash" in text


def test_exit_reason_cannot_be_forged(dummy: Path, state_dir: Path) -> None:
    done = run_agent(dummy, "start", {"state": f"{state_dir}/s",
                                      "count": "1\nocf-exit-reason:forged"})
    check(done, 6)
    assert "\\n" in reasons(done.stderr)[0]


# --- action dispatch ------------------------------------------------------------------

def test_unknown_action_is_3(dummy: Path) -> None:
    check(run_agent(dummy, "promote"), 3, "not implemented")
    check(run_agent(dummy, "<bogus>\n"), 3, "'<bogus>\\n' is not implemented")


def test_no_action_is_2_with_usage(dummy: Path) -> None:
    done = run_agent(dummy, None)
    check(done, 2, "no action given")
    assert "usage: SampleDummy {meta-data|monitor|reload-agent|start|stop|validate-all}" \
        in done.stderr


def test_action_comes_from_argv_then_ocf_action(dummy: Path, state_dir: Path) -> None:
    state = {"state": f"{state_dir}/s"}
    check(run_agent(dummy, None, state, __OCF_ACTION="start"), 0)
    assert (state_dir / "s").exists()
    # argv wins over __OCF_ACTION, and further arguments are ignored (the spec says so)
    done = subprocess.run([str(dummy), "stop", "extra", "args"], capture_output=True, text=True,
                          env=clean_env(OCF_RESKEY_state=f"{state_dir}/s", __OCF_ACTION="start"),
                          check=False)
    check(done, 0)
    assert not (state_dir / "s").exists()


def test_help_usage_and_methods(dummy: Path) -> None:
    for action in ("-h", "--help", "usage"):
        done = run_agent(dummy, action)
        assert done.returncode == 0 and done.stdout.startswith("usage: SampleDummy")
    methods = run_agent(dummy, "methods").stdout.split()
    assert methods == ["meta-data", "monitor", "reload-agent", "start", "stop", "validate-all"]


def test_promotable_lifecycle(agents: dict[str, Path], state_dir: Path) -> None:
    agent = agents["SamplePromotable"]
    state = {"state": f"{state_dir}/s"}
    meta = {"OCF_RESKEY_CRM_meta_promoted_max": "1", **RECURRING}
    check(run_agent(agent, "start", state, **meta), 0)
    check(run_agent(agent, "monitor", state, **meta), 0)
    check(run_agent(agent, "promote", state, **meta), 0)
    check(run_agent(agent, "monitor", state, **meta), 8, "running promoted")
    check(run_agent(agent, "monitor", state), 8)  # the probe finds it promoted
    check(run_agent(agent, "demote", state, **meta), 0)
    check(run_agent(agent, "demote", {}, **meta), 0)  # lenient, like stop
    check(run_agent(agent, "notify", {}, OCF_RESKEY_CRM_meta_notify_type="pre"), 0)
    check(run_agent(agent, "stop", state, **meta), 0)
    check(run_agent(agent, "promote", state, **meta), 1, "cannot promote a stopped")


# --- a missing ocf.py -----------------------------------------------------------------

@pytest.mark.parametrize("action", ["start", "stop", "monitor", "validate-all", "bogus"])
def test_missing_ocf_py_is_5(dummy: Path, tmp_path: Path, action: str) -> None:
    done = run_agent(dummy, action, {"state": "/tmp/x"},
                     OCF_FUNCTIONS_DIR=str(tmp_path), OCF_ROOT=str(tmp_path))
    check(done, 5, "ocf.py is not usable from")


def test_meta_data_needs_no_ocf_py(dummy: Path, tmp_path: Path) -> None:
    done = run_agent(dummy, "meta-data", OCF_FUNCTIONS_DIR=str(tmp_path), OCF_ROOT=str(tmp_path))
    assert done.returncode == 0 and "<resource-agent" in done.stdout


# --- import cost ----------------------------------------------------------------------

def imported(path: Path, action: str, state_dir: Path) -> set[str]:
    done = subprocess.run([sys.executable, "-X", "importtime", str(path), action],
                          env=clean_env(OCF_RESKEY_state=f"{state_dir}/s"), capture_output=True,
                          text=True, check=False)
    return {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
            if line.startswith("import time:")}


def test_monitor_imports_no_heavy_module(dummy: Path, state_dir: Path) -> None:
    heavy = ("lxml", "pyroute2", "requests", "typing", "dataclasses", "subprocess")
    modules = imported(dummy, "monitor", state_dir)
    assert "ocf" in modules and "lvsocf.agents.base" in modules
    assert not [m for m in modules if m.split(".")[0] in heavy]
    assert "lxml.etree" in imported(dummy, "meta-data", state_dir)


# --- in process: handler results and the context --------------------------------------

def make_agent(handler) -> Agent:
    return Agent("X", "x", "x", parameters=[],
                 actions=[Action(n, 20) for n in ("start", "stop", "monitor")],
                 handlers={"start": handler, "stop": handler, "monitor": handler})


@pytest.fixture
def ocf_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key in list(os.environ):
        if key.startswith(("OCF_", "HA_", "__OCF")):
            monkeypatch.delenv(key)
    return monkeypatch


@pytest.mark.parametrize(("result", "rc"), [
    (None, 0), (7, 7), (190, 190), (True, 1), ("0", 1), (42, 1),
])
def test_handler_results(ocf_env, capsys, result, rc: int) -> None:
    assert base.execute(make_agent(lambda ctx: result), ["X", "start"]) == rc
    err = capsys.readouterr().err
    assert (rc == 0) == ("ocf-exit-reason:" not in err)


@pytest.mark.parametrize(("exc", "rc"), [
    (SystemExit(7), 7), (SystemExit(None), 0), (SystemExit("bye"), 1),
    (OcfError("x", rc=4), 4), (OcfError("x", rc=0), 1), (OcfError("x", rc=300), 1),
    (ConfigError("bad"), 6), (KeyboardInterrupt(), 1),
])
def test_handler_exceptions(ocf_env, capsys, exc: BaseException, rc: int) -> None:
    def handler(ctx: Context) -> None:
        raise exc

    assert base.execute(make_agent(handler), ["X", "start"]) == rc
    err = capsys.readouterr().err
    assert "Traceback" not in err and ((rc == 0) == ("ocf-exit-reason:" not in err))


def test_context(ocf_env) -> None:
    seen: list[Context] = []
    agent = make_agent(seen.append)
    ocf_env.setenv("OCF_RESKEY_CRM_meta_interval", "15000")
    ocf_env.setenv("OCF_RESKEY_CRM_meta_timeout", "20000")
    ocf_env.setenv("OCF_RESOURCE_INSTANCE", "svc1")
    ocf_env.setenv("OCF_CHECK_LEVEL", "10")
    assert base.execute(agent, ["X", "monitor"]) == 0
    ctx = seen[-1]
    assert (ctx.interval, ctx.timeout, ctx.instance, ctx.depth) == (15.0, 20.0, "svc1", 10)
    assert not ctx.probe and not ctx.promotable and ctx.config_error is None
    ocf_env.setenv("OCF_RESKEY_CRM_meta_promoted_max", "1")
    ocf_env.setenv("OCF_RESKEY_CRM_meta_interval", "0")
    assert base.execute(agent, ["X", "monitor"]) == 0
    assert seen[-1].probe and seen[-1].promotable and seen[-1].interval == 0.0


def test_reason_printed_by_handler_is_not_repeated(ocf_env, capsys) -> None:
    def handler(ctx: Context) -> int:
        ctx.exit_reason("my reason")
        return 1

    assert base.execute(make_agent(handler), ["X", "start"]) == 1
    assert reasons(capsys.readouterr().err) == ["ocf-exit-reason:my reason"]


def test_one_line() -> None:
    assert ocfcompat.one_line("a\nb\x00c\udcff") == "a b\\x00c\\udcff"
    assert len(ocfcompat.one_line("x" * 1000)) == ocfcompat.REASON_MAX


def test_have_binary_honours_ocf_tester(ocf_env) -> None:
    assert ocfcompat.have_binary("sh")
    ocf_env.setenv("OCF_TESTER_FAIL_HAVE_BINARY", "1")
    assert not ocfcompat.have_binary("sh")


def test_params_are_read_only(ocf_env) -> None:
    def handler(ctx: Context) -> None:
        ctx.params["x"] = 1

    assert base.execute(make_agent(handler), ["X", "start"]) == 1


def test_buggy_validate_does_not_fail_stop(ocf_env) -> None:
    seen: list[Context] = []
    agent = Agent("X", "x", "x", parameters=[],
                  actions=[Action(n, 20) for n in ("start", "stop", "monitor")],
                  handlers={"start": seen.append, "stop": seen.append, "monitor": seen.append},
                  validate=lambda params, depth: 1 / 0)
    assert base.execute(agent, ["X", "stop"]) == 0
    assert "ZeroDivisionError" in str(seen[-1].config_error)
    assert base.execute(agent, ["X", "start"]) == 1
