"""The agent base every lvsocf agent shares: definition, context, and the action runner.

An agent module declares one :class:`Agent` (parameters, actions, one handler per action, an
optional ``validate``) and its executable calls :func:`run`. The runner:

- prints meta-data (OCF 1.1 or 1.0, see :mod:`lvsocf.agents.metadata`) without needing ocf.py;
- for every other action needs ocf.py (missing: exit 5 with a reason);
- parses every ``OCF_RESKEY_*`` value by its declared type before a handler runs, and hands
  the handler a :class:`Context` whose ``params`` maps names to typed values (a read-only
  :class:`~lvsocf.agents.params.Params`, whose accessors fall back on the declared defaults);
- is strict (exit 6 on a missing required or invalid parameter, then ``validate`` at depth 10,
  or 0 for a recurring monitor) for every action except stop, demote, notify and probes.
  Those run with whatever could be parsed: invalid parameters are None and
  ``ctx.config_error`` says why; a stop must still succeed when nothing can be running;
- answers every probe (monitor with interval 0 or unset) with 7 unless the handler reports
  the resource as present (0, 1, 8, 9, 190, 191): errors, exceptions and codes 2-6 become 7;
- maps :class:`~lvsocf.agents.errors.OcfError` subclasses to their codes and any other
  exception to OCF_ERR_GENERIC, with the traceback only in the debug log;
- prints an ``ocf-exit-reason:`` line for every non-zero exit (a default one if the handler
  gave none);
- exits 3 for an action the agent does not implement, 2 when no action is given.
"""

from __future__ import annotations

import os
import sys

from lvsocf.agents import ocfcompat as _c
from lvsocf.agents.definition import BUILTIN_ACTIONS, Action, Agent
from lvsocf.agents.errors import ArgsError, ConfigError, InstalledError, OcfError, PermError
from lvsocf.agents.ocfcompat import (
    OCF_DEGRADED,
    OCF_DEGRADED_PROMOTED,
    OCF_ERR_ARGS,
    OCF_ERR_CONFIGURED,
    OCF_ERR_GENERIC,
    OCF_ERR_INSTALLED,
    OCF_ERR_PERM,
    OCF_ERR_UNIMPLEMENTED,
    OCF_FAILED_PROMOTED,
    OCF_NOT_RUNNING,
    OCF_RUNNING_PROMOTED,
    OCF_SUCCESS,
)
from lvsocf.agents.params import Param, Params, Value, read_params

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Mapping
    from typing import NoReturn

    Handler = Callable[["Context"], int | None]
    Validator = Callable[[Mapping[str, Value], int], None]

__all__ = [
    "Action", "Agent", "Context", "Param", "run",
    "OcfError", "ArgsError", "ConfigError", "InstalledError", "PermError",
    "OCF_SUCCESS", "OCF_ERR_GENERIC", "OCF_ERR_ARGS", "OCF_ERR_UNIMPLEMENTED", "OCF_ERR_PERM",
    "OCF_ERR_INSTALLED", "OCF_ERR_CONFIGURED", "OCF_NOT_RUNNING", "OCF_RUNNING_PROMOTED",
    "OCF_FAILED_PROMOTED", "OCF_DEGRADED", "OCF_DEGRADED_PROMOTED",
]

VALID_CODES = frozenset(_c.CODE_NAMES)
# What a probe may answer besides 7: the resource is there, healthy or not.
PRESENT_CODES = frozenset({OCF_SUCCESS, OCF_ERR_GENERIC, OCF_RUNNING_PROMOTED,
                           OCF_FAILED_PROMOTED, OCF_DEGRADED, OCF_DEGRADED_PROMOTED})
LENIENT_ACTIONS = frozenset({"stop", "demote", "notify"})


class Context:
    """What a handler gets: the action, typed parameters and the OCF environment."""

    __slots__ = ("agent", "action", "params", "probe", "depth", "config_error", "logger")

    def __init__(self, agent: Agent, action: str, params: Params, probe: bool,
                 depth: int) -> None:
        self.agent = agent
        self.action = action
        self.params = params
        self.probe = probe
        #: OCF_CHECK_LEVEL as given (0 when unset or not a number)
        self.depth = depth
        #: in stop/demote/notify/probes: why the parameters are unusable, else None
        self.config_error: OcfError | None = None
        self.logger: logging.LoggerAdapter | logging.Logger = _c.get_logger()

    @property
    def instance(self) -> str:
        return os.environ.get("OCF_RESOURCE_INSTANCE", self.agent.name)

    def meta(self, name: str, default: str | None = None) -> str | None:
        """A Pacemaker meta attribute, e.g. ``meta("notify_type")``."""
        return os.environ.get("OCF_RESKEY_CRM_meta_" + name, default)

    @property
    def interval(self) -> float:
        """The operation's interval in seconds (0 for probes and non-recurring actions)."""
        return _ms(self.meta("interval")) or 0.0

    @property
    def timeout(self) -> float | None:
        """The operation's timeout in seconds, when Pacemaker gave one."""
        return _ms(self.meta("timeout"))

    @property
    def promotable(self) -> bool:
        """Running as a promotable clone (Pacemaker exports promoted_max, not promotable)."""
        return self.meta("promoted_max", self.meta("master_max")) is not None

    @property
    def rsctmp(self) -> str:
        """Where agents keep per-boot state (HA_RSCTMP, as resource-agents' shell library)."""
        return os.environ.get("HA_RSCTMP", "/run/resource-agents")

    def exit_reason(self, message: str) -> None:
        _c.exit_reason(message)

    def promotion_score(self, score: int | None) -> bool:
        """Set this node's promotion score (None deletes it); False if crm_attribute failed."""
        import subprocess

        argv = ["crm_attribute", "--promotion", "--lifetime", "reboot"]
        argv += ["--delete"] if score is None else ["--update", str(score)]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError) as err:
            self.logger.warning("crm_attribute failed: %s", err)
            return False
        if done.returncode != 0:
            self.logger.warning("crm_attribute failed: %s", _c.one_line(done.stderr))
        return done.returncode == 0


def _ms(value: str | None) -> float | None:
    return int(value) / 1000.0 if value and value.isascii() and value.isdigit() else None


def _check_level() -> int:
    value = os.environ.get("OCF_CHECK_LEVEL", "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 6 else 0


def usage(agent: Agent, prog: str) -> str:
    names = sorted({a.name for a in agent.actions} | set(agent.handlers))
    return (f"usage: {os.path.basename(prog)} {{{'|'.join(names)}}}\n\n"
            "Expects to have a fully populated OCF RA compliant environment set.\n")


def run(agent: Agent, argv: list[str] | None = None) -> NoReturn:
    """Run the action named on the command line and exit with its OCF code."""
    sys.exit(execute(agent, sys.argv if argv is None else argv))


def execute(agent: Agent, argv: list[str]) -> int:
    """Run one action and return its exit code (an exit reason is printed when non-zero)."""
    _c.reset_reason()
    action = _c.resolve_action(argv)
    if action in ("meta-data", "usage", "methods", "-h", "--help"):
        return _describe(agent, action, argv[0])
    _c.require()
    if action is None:
        sys.stderr.write(usage(agent, argv[0]))
        return _finish(OCF_ERR_ARGS, "no action given")
    if action != "validate-all" and action not in agent.handlers:
        return _finish(OCF_ERR_UNIMPLEMENTED, f"action {_c.shown(action)} is not implemented")
    probe = _c.is_probe()
    values, problems = read_params(agent.parameters, os.environ)
    ctx = Context(agent, action, Params(agent.parameters, values), probe, _check_level())
    if agent.monitor_tickets:       # only a monitor that succeeds writes one again
        from lvsocf.agents import fastpath
        fastpath.drop(ctx.instance)
    step = _lenient if probe or action in LENIENT_ACTIONS else _strict
    rc, raised = _guard(ctx, step, problems)
    if probe and (raised or rc not in PRESENT_CODES):
        if rc != OCF_NOT_RUNNING:
            ctx.logger.info("probe: answering not running instead of %d", rc)
        rc = OCF_NOT_RUNNING
    return _finish(rc, "")


def _strict(ctx: Context, problems: list[str]) -> int | None:
    if problems:
        raise ConfigError("; ".join(problems))
    if ctx.action == "validate-all":
        _validate(ctx, 10 if ctx.depth >= 10 else 0)
        return OCF_SUCCESS
    _validate(ctx, 0 if ctx.action == "monitor" else 10)
    return ctx.agent.handlers[ctx.action](ctx)


def _lenient(ctx: Context, problems: list[str]) -> int | None:
    try:
        if problems:
            raise ConfigError("; ".join(problems))
        _validate(ctx, 0)
    except Exception as err:  # a buggy validate() must not make a stop fail
        if not isinstance(err, OcfError):
            ctx.logger.debug("validate failed", exc_info=True)
            err = ConfigError(f"validation failed: {type(err).__name__}: {err}")
        ctx.config_error = err
        ctx.logger.debug("%s with unusable parameters: %s", ctx.action, err)
    return ctx.agent.handlers[ctx.action](ctx)


def _validate(ctx: Context, depth: int) -> None:
    if ctx.agent.validate is not None:
        ctx.agent.validate(ctx.params, depth)


def _guard(ctx: Context, step: Callable[[Context, list[str]], int | None],
           problems: list[str]) -> tuple[int, bool]:
    """Run ``step``: its result as a valid OCF code, and whether it raised.

    Whatever is raised ends here as a code with an exit reason; a probe's reason says
    "not running" because the caller answers 7 for it.
    """
    try:
        rc = step(ctx, problems)
    except OcfError as err:
        return _fail(ctx, err.rc, str(err)), True
    except ImportError as err:  # a Python dependency is missing: not installed (5)
        ctx.logger.debug("%s failed", ctx.action, exc_info=True)
        return _fail(ctx, OCF_ERR_INSTALLED, f"missing Python module: {err}"), True
    except SystemExit as err:  # a handler calling sys.exit(): treat it as a return
        rc = OCF_SUCCESS if err.code is None else err.code
    except BaseException as err:  # noqa: B036 - no traceback may reach the user
        ctx.logger.debug("%s failed", ctx.action, exc_info=True)
        return _fail(ctx, OCF_ERR_GENERIC,
                     f"internal error in {ctx.action}: {type(err).__name__}: {err} "
                     "(set HA_debug=1 for a traceback in the log)"), True
    if rc is None:
        return OCF_SUCCESS, False
    if isinstance(rc, bool) or not isinstance(rc, int) or rc not in VALID_CODES:
        return _fail(ctx, OCF_ERR_GENERIC, f"{ctx.action} returned an invalid code {rc!r}"), True
    return rc, False


def _fail(ctx: Context, rc: int, reason: str) -> int:
    _c.exit_reason(f"not running ({reason})" if ctx.probe else reason)
    return rc if rc in VALID_CODES and rc != OCF_SUCCESS else OCF_ERR_GENERIC


def _finish(rc: int, reason: str) -> int:
    if rc != OCF_SUCCESS and not _c.reason_given():
        _c.exit_reason(reason or _c.CODE_NAMES.get(rc, f"exit code {rc}"))
    return rc


def _describe(agent: Agent, action: str, prog: str) -> int:
    if action == "methods":
        sys.stdout.write("".join(f"{n}\n" for n in sorted(set(agent.handlers) | BUILTIN_ACTIONS)))
    elif action != "meta-data":
        sys.stdout.write(usage(agent, prog))
    else:
        try:
            from lvsocf.agents.metadata import render, version_for

            xml = render(agent, version_for(os.environ))
        except ImportError as err:
            return _finish(OCF_ERR_INSTALLED, f"cannot render meta-data: {err}")
        sys.stdout.buffer.write(xml)
    sys.stdout.flush()
    return OCF_SUCCESS
