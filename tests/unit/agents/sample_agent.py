"""A file-backed sample agent on the lvsocf agent base, like resource-agents' Dummy.

The state file's existence means running; its content is "started" or "promoted".
Two variants: ``DUMMY`` (a primitive) and ``PROMOTABLE`` (a promotable clone).
Test knobs (environment): ``SAMPLE_CRASH=<action>`` makes that handler raise a plain
exception; ``SAMPLE_MISSING_TOOL=1`` makes the depth-10 validation report a missing tool.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from lvsocf.agents.base import (
    OCF_ERR_GENERIC,
    OCF_NOT_RUNNING,
    OCF_RUNNING_PROMOTED,
    OCF_SUCCESS,
    Action,
    Agent,
    ArgsError,
    ConfigError,
    Context,
    InstalledError,
    Param,
    run,
)
from lvsocf.agents.params import Value

PARAMETERS = (
    Param("state", "State file", """
          Location of the state file. Its existence means the resource is running.
          """, required=True, unique=True),
    Param("fake", "Fake attribute", "A value that reload-agent applies.", default="dummy",
          reloadable=True),
    Param("count", "Bounded integer", "An integer from 0 to 100.", type="integer", default=1,
          min=0, max=100),
    Param("verbose", "Boolean", "A boolean.", type="boolean", default=False),
    Param("mode", "Choice", "How fast to pretend to be.", type="select",
          choices=("fast", "slow"), default="fast"),
    Param("delay", "Time", "A time value, at most one hour.", type="time", default="0s",
          max=3600),
    Param("note", 'Escaping <&> "test"', "Text with <tags>, & and ]]> must be escaped."),
    Param("old_fake", "Old name of fake", "Use fake.", replaced_with=("fake",)),
    Param("pair_a", "First of a unique pair", "Unique together with pair_b.",
          unique_group="pair"),
    Param("pair_b", "Second of a unique pair", "Unique together with pair_a.",
          unique_group="pair"),
)


def validate(params: Mapping[str, Value], depth: int) -> None:
    state = params["state"]
    if not state.startswith("/"):
        raise ConfigError(f"state must be an absolute path, not {state!r}")
    if depth >= 10:
        if os.environ.get("SAMPLE_MISSING_TOOL") == "1":
            raise InstalledError("the sample tool is not installed")
        if not os.path.isdir(os.path.dirname(state)):
            raise ArgsError(f"the directory of {state} does not exist")


def _crash(ctx: Context) -> None:
    if os.environ.get("SAMPLE_CRASH") == ctx.action:
        raise RuntimeError("sample crash <&>\nsecond line")


def _read(ctx: Context) -> str | None:
    state = ctx.params["state"]
    if not state:
        return None
    try:
        with open(state, encoding="utf-8") as f:
            return f.read().strip() or "started"
    except FileNotFoundError:
        return None


def _write(ctx: Context, content: str) -> None:
    with open(ctx.params["state"], "w", encoding="utf-8") as f:
        f.write(content + "\n")


def start(ctx: Context) -> int:
    _crash(ctx)
    if _read(ctx) is None:
        _write(ctx, "started")
    return OCF_SUCCESS


def stop(ctx: Context) -> int:
    _crash(ctx)
    state = ctx.params["state"]
    if state is None or not state.startswith("/"):
        return OCF_SUCCESS  # without a usable state path nothing can have been started
    try:
        os.unlink(state)
    except FileNotFoundError:
        pass
    return OCF_SUCCESS


def monitor(ctx: Context) -> int:
    _crash(ctx)
    content = _read(ctx)
    if content is None:
        return OCF_NOT_RUNNING
    if content == "promoted" and ctx.agent.promotable:
        return OCF_RUNNING_PROMOTED
    return OCF_SUCCESS


def reload_agent(ctx: Context) -> int:
    _crash(ctx)
    return OCF_SUCCESS


def promote(ctx: Context) -> int:
    _crash(ctx)
    if _read(ctx) is None:
        ctx.exit_reason("cannot promote a stopped resource")
        return OCF_ERR_GENERIC
    _write(ctx, "promoted")
    return OCF_SUCCESS


def demote(ctx: Context) -> int:
    _crash(ctx)
    if _read(ctx) == "promoted":
        _write(ctx, "started")
    return OCF_SUCCESS


def notify(ctx: Context) -> int:
    ctx.logger.debug("notify %s-%s", ctx.meta("notify_type"), ctx.meta("notify_operation"))
    return OCF_SUCCESS


COMMON_ACTIONS = (
    Action("start", 20),
    Action("stop", 20),
    Action("reload-agent", 20),
)

DUMMY = Agent(
    "SampleDummy",
    "Sample file-backed agent",
    """
    A file-backed agent for testing the lvsocf agent base.
    Its longdesc has metacharacters: <resource-agent> & "quotes".
    """,
    parameters=PARAMETERS,
    actions=COMMON_ACTIONS + (Action("monitor", 20, interval=10, depth=0),),
    handlers={"start": start, "stop": stop, "monitor": monitor, "reload-agent": reload_agent},
    validate=validate,
)

PROMOTABLE = Agent(
    "SamplePromotable",
    "Sample promotable file-backed agent",
    "The promotable variant of SampleDummy.",
    parameters=PARAMETERS,
    actions=COMMON_ACTIONS + (
        Action("monitor", 20, interval=10, depth=0, role="Promoted"),
        Action("monitor", 20, interval=11, depth=0, role="Unpromoted"),
        Action("promote", 20),
        Action("demote", 20),
        Action("notify", 10),
    ),
    handlers={"start": start, "stop": stop, "monitor": monitor, "reload-agent": reload_agent,
              "promote": promote, "demote": demote, "notify": notify},
    validate=validate,
    promotable=True,
)

AGENTS = {"SampleDummy": DUMMY, "SamplePromotable": PROMOTABLE}


def main(name: str | None = None) -> None:
    """Run the variant named ``name`` (default: the executable's file name)."""
    run(AGENTS[name or os.path.basename(sys.argv[0])])
