"""Typed parameter parsing and the definition checks of Param/Agent/Action."""

from __future__ import annotations

import pytest
from sample_agent import DUMMY, PARAMETERS, monitor, start, stop

from lvsocf.agents.base import Action, Agent
from lvsocf.agents.errors import ConfigError
from lvsocf.agents.params import Param, Params, read_params


@pytest.mark.parametrize(("raw", "value"), [
    ("0", 0), ("42", 42), (" 7\t", 7), ("+5", 5), ("100", 100),
])
def test_integer_accepts(raw: str, value: int) -> None:
    assert Param("n", "n", type="integer", min=0, max=100).parse(raw) == value


@pytest.mark.parametrize("raw", [
    "-1", "101", "1_0", "0x10", "1.5", "", " ", "١٢", "1e3", "9" * 31, "12abc", "∞",
])
def test_integer_rejects(raw: str) -> None:
    with pytest.raises(ConfigError, match="parameter n"):
        Param("n", "n", type="integer", min=0, max=100).parse(raw)


def test_integer_without_bounds_takes_big_and_negative_values() -> None:
    p = Param("n", "n", type="integer")
    assert p.parse("-" + "9" * 30) == -int("9" * 30)


@pytest.mark.parametrize(("raw", "value"), [
    ("yes", True), ("true", True), ("1", True), ("YES", True), ("TRUE", True), ("ja", True),
    ("on", True), ("ON", True), ("True", True), ("y", True),
    ("no", False), ("false", False), ("0", False), ("OFF", False), ("nein", False),
    ("False", False),
])
def test_boolean(raw: str, value: bool) -> None:
    assert Param("b", "b", type="boolean").parse(raw) is value


@pytest.mark.parametrize("raw", ["maybe", "2", "yes!", "tru", "\u0661"])
def test_boolean_rejects_what_is_true_would_silently_call_false(raw: str) -> None:
    with pytest.raises(ConfigError, match="not a boolean"):
        Param("b", "b", type="boolean").parse(raw)


@pytest.mark.parametrize(("raw", "seconds"), [
    ("5", 5.0), ("5s", 5.0), ("1.5s", 1.5), ("100ms", 0.1), ("2m", 120.0), ("1min", 60.0),
    ("1h", 3600.0), ("1hr", 3600.0), ("250msec", 0.25), ("10 s", 10.0), ("3S", 3.0),
    ("500us", 0.0005),
])
def test_time(raw: str, seconds: float) -> None:
    assert Param("t", "t", type="time").parse(raw) == pytest.approx(seconds)


@pytest.mark.parametrize("raw", ["-1s", "1d", "s", "1e400", "9" * 16 + "h", "PT5S", "1.s"])
def test_time_rejects(raw: str) -> None:
    with pytest.raises(ConfigError):
        Param("t", "t", type="time", max=3600).parse(raw)


def test_select_is_exact() -> None:
    p = Param("m", "m", type="select", choices=("fast", "slow"))
    assert p.parse("slow") == "slow"
    for raw in ("FAST", " fast", "medium", ""):
        with pytest.raises(ConfigError, match="not one of fast, slow"):
            p.parse(raw)


@pytest.mark.parametrize("raw", ["a\nb", "a\x1b[31m", "\udcff", "x\u202ey", "\x7f"])
def test_every_type_rejects_non_printable_text(raw: str) -> None:
    for kind in ("string", "integer", "boolean", "time"):
        with pytest.raises(ConfigError):
            Param("p", "p", type=kind).parse(raw)


def test_strings_keep_metacharacters_and_unicode() -> None:
    raw = "<a href=\"x\">&amp;</a> ]]> ünïcödé \t tab"
    assert Param("s", "s").parse(raw) == raw


def test_error_messages_quote_and_truncate_the_value() -> None:
    with pytest.raises(ConfigError) as err:
        Param("n", "n", type="integer").parse("x" * 500 + "\n")
    assert "\n" not in str(err.value) and len(str(err.value)) < 120


def test_read_params_defaults_missing_and_invalid() -> None:
    values, problems = read_params(PARAMETERS, {
        "OCF_RESKEY_count": "abc", "OCF_RESKEY_verbose": "", "OCF_RESKEY_note": "",
        "OCF_RESKEY_delay": "90s",
    })
    assert values["state"] is None and values["count"] is None
    assert values["verbose"] is False  # empty: unset, so the default
    assert values["note"] == ""  # empty strings stay strings
    assert values["delay"] == 90.0 and values["mode"] == "fast" and values["fake"] == "dummy"
    assert problems == ["required parameter state is not set",
                        "parameter count: 'abc' is not an integer"]


def test_empty_required_string_is_missing() -> None:
    _, problems = read_params(PARAMETERS, {"OCF_RESKEY_state": ""})
    assert problems == ["required parameter state is not set"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"name": "1bad"}, "invalid parameter name"),
    ({"name": "ok", "type": "float"}, "unknown type"),
    ({"name": "ok", "type": "select"}, "select needs choices"),
    ({"name": "ok", "choices": ("a",)}, "choices go with type select"),
    ({"name": "ok", "required": True, "default": "x"}, "required parameter has no default"),
    ({"name": "ok", "type": "integer", "default": "x"}, "invalid default"),
    ({"name": "ok", "type": "integer", "default": 5, "max": 4}, "invalid default"),
])
def test_param_definition_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Param(shortdesc="s", **kwargs)


def test_names_are_free_not_python_identifiers() -> None:
    p = Param("sync-id", "s", type="integer", default=0)
    values, _ = read_params([p], {"OCF_RESKEY_sync-id": "3"})
    assert values == {"sync-id": 3}



def test_params_fall_back_on_the_declared_defaults() -> None:
    declared = [Param("port", "p", type="integer", min=1, max=65535),
                Param("retries", "r", type="integer", default=3),
                Param("mode", "m", default="0 0"), Param("on", "o", type="boolean", default=True),
                Param("off", "f", type="boolean"), Param("name", "n")]
    values, _ = read_params(declared, {"OCF_RESKEY_retries": "x", "OCF_RESKEY_mode": "",
                                       "OCF_RESKEY_name": "a"})
    p = Params(declared, values)
    assert dict(p) == values and p["retries"] is None and p["mode"] == ""   # as parsed
    assert p.integer("retries") == 3                # invalid: the declared default
    assert p.text("mode") == "0 0"                  # an empty string is unset
    assert p.flag("on") is True and p.flag("off") is False
    assert p.text("name") == "a" and p.integer("port") is None
    assert p.integer("port", unset=0) == 0
    with pytest.raises(ValueError, match="declares its default"):
        p.integer("retries", unset=0)
    with pytest.raises(KeyError):
        p.value("undeclared")
    assert Params.of(declared, p) is p
    assert Params.of(declared, {"retries": 5}).integer("retries") == 5

BASIC = {"start": start, "stop": stop, "monitor": monitor}
BASIC_ACTIONS = [Action("start", 20), Action("stop", 20), Action("monitor", 20)]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"handlers": {"start": start, "stop": stop}}, "no handler for"),
    ({"handlers": dict(BASIC, promote=start)}, "handlers without an action entry"),
    ({"promotable": True}, "no handler for"),
    ({"parameters": [Param("a", "a", reloadable=True)]}, r"no handler for \['reload-agent'\]"),
    ({"parameters": [Param("a", "a"), Param("a", "b")]}, "declared twice"),
    ({"actions": BASIC_ACTIONS + [Action("monitor", 20, role="Promoted")]}, "roles only"),
])
def test_agent_definition_errors(kwargs: dict, message: str) -> None:
    args = {"parameters": [], "actions": BASIC_ACTIONS, "handlers": BASIC}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        Agent("X", "x", "x", **args)


def test_action_role_and_times() -> None:
    with pytest.raises(ValueError, match="role"):
        Action("monitor", 20, role="Master")
    a = Action("monitor", 20.5, interval="1min", start_delay=0)
    assert (a.timeout, a.interval, a.start_delay) == ("20.5s", "1min", "0s")


def test_base_adds_meta_data_and_validate_all_actions() -> None:
    names = [(a.name, a.depth) for a in DUMMY.actions]
    assert ("meta-data", None) in names
    assert ("validate-all", 0) in names and ("validate-all", 10) in names
