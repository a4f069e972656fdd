"""An agent's declaration: its meta-data (parameters, actions), its action handlers and its
validation. Built once per agent module (AGENT = Agent(...)); lvsocf.agents.base runs it and
lvsocf.agents.metadata renders its meta-data.
"""
from __future__ import annotations

from lvsocf import __version__
from lvsocf.agents.params import Param, Value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from lvsocf.agents.base import Context

    Handler = Callable[[Context], int | None]
    Validator = Callable[[Mapping[str, Value], int], None]

BUILTIN_ACTIONS = frozenset({"meta-data", "validate-all"})
ROLES = ("Promoted", "Unpromoted")


class Action:
    """One ``<action>`` of the meta-data. Times are seconds (a number) or strings like "20s"."""

    __slots__ = ("name", "timeout", "interval", "depth", "role", "start_delay")

    def __init__(
        self,
        name: str,
        timeout: int | float | str,
        *,
        interval: int | float | str | None = None,
        depth: int | None = None,
        role: str | None = None,
        start_delay: int | float | str | None = None,
    ) -> None:
        if role is not None and role not in ROLES:
            raise ValueError(f"action {name}: role must be one of {ROLES}")
        self.name = name
        self.timeout = _seconds(timeout)
        self.interval = None if interval is None else _seconds(interval)
        self.depth = depth
        self.role = role
        self.start_delay = None if start_delay is None else _seconds(start_delay)


def _seconds(value: int | float | str) -> str:
    return value if isinstance(value, str) else f"{value:g}s"


class Agent:
    """An agent's declaration: meta-data, handlers and validation.

    ``handlers`` maps action names to ``handler(ctx) -> int | None`` (None is success).
    ``validate(params, depth)`` raises an :class:`OcfError` subclass when the parameters are
    unusable: depth 0 checks syntax and consistency only (it may run off-node), depth 10 also
    the local host. It serves validate-all and runs before every strict action.
    ``meta-data`` and ``validate-all`` actions are added unless declared.

    Example::

        def validate(params, depth):
            if params["port"] == 0 and not params["fwmark"]:
                raise ConfigError("port or fwmark is required")

        def monitor(ctx):
            return OCF_SUCCESS if present(ctx.params["vip"]) else OCF_NOT_RUNNING

        AGENT = Agent(
            "IPVSService", "IPVS virtual service", "One IPVS virtual service.",
            parameters=[
                Param("vip", "Virtual IP", type="string", unique_group="service"),
                Param("port", "Port", type="integer", min=0, max=65535, default=0,
                      unique_group="service"),
                Param("scheduler", "Scheduler", type="select", choices=("wlc", "rr"),
                      default="wlc", reloadable=True),
            ],
            actions=[Action("start", 20), Action("stop", 20),
                     Action("monitor", 20, interval=10), Action("reload-agent", 20)],
            handlers={"start": start, "stop": stop, "monitor": monitor,
                      "reload-agent": reload_agent},
            validate=validate,
        )

        def main() -> None:
            run(AGENT)          # lvsocf.agents.base.run
    """

    def __init__(
        self,
        name: str,
        shortdesc: str,
        longdesc: str,
        *,
        parameters: Iterable[Param],
        actions: Iterable[Action],
        handlers: Mapping[str, Handler],
        validate: Validator | None = None,
        promotable: bool = False,
        monitor_tickets: bool = False,
        version: str = __version__,
    ) -> None:
        self.name = name
        self.shortdesc = shortdesc
        self.longdesc = longdesc
        self.parameters = tuple(parameters)
        self.actions = list(actions)
        self.handlers = dict(handlers)
        self.validate = validate
        self.promotable = promotable
        #: its executable has the bash monitor fast path (lvsocf.agents.fastpath): every
        #: action drops the resource's ticket first, a monitor that succeeds writes one
        self.monitor_tickets = monitor_tickets
        self.version = version
        declared = {a.name for a in self.actions}
        if "meta-data" not in declared:
            self.actions.append(Action("meta-data", 5))
        if "validate-all" not in declared:
            self.actions += [Action("validate-all", 20, depth=0), Action("validate-all", 20,
                                                                         depth=10)]
        self._check(declared)

    def _check(self, declared: set[str]) -> None:
        names = [p.name for p in self.parameters]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: a parameter is declared twice")
        needed = {"start", "stop", "monitor"} | (declared - BUILTIN_ACTIONS)
        if self.promotable:
            needed |= {"promote", "demote"}
        if any(p.reloadable for p in self.parameters):
            needed.add("reload-agent")
        if missing := needed - set(self.handlers):
            raise ValueError(f"{self.name}: no handler for {sorted(missing)}")
        if undeclared := set(self.handlers) - declared:
            raise ValueError(f"{self.name}: handlers without an action entry: "
                             f"{sorted(undeclared)}")
        if not self.promotable and any(a.role for a in self.actions):
            raise ValueError(f"{self.name}: roles only make sense for a promotable agent")
