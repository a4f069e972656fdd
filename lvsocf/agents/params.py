"""Parameter declarations and the typed parsing of ``OCF_RESKEY_*`` values.

Every value is checked by its declared type before any handler runs:

- ``string``: kept as is.
- ``integer``: ASCII digits with an optional sign (no ``1_000``, no other scripts' digits),
  at most 30 digits, within ``min``/``max``.
- ``boolean``: case-insensitive yes/true/on/1/ja/y or no/false/off/0/nein/n. Every value
  ocf.py's ``is_true`` accepts is true here too; anything else is an error instead of
  silently false (``True`` would be false for ``is_true``).
- ``time``: Pacemaker's interval syntax, a number with an optional unit (us, ms, s, m, h;
  also usec, msec, sec, min, hr; none = seconds); the typed value is float seconds,
  bounded by ``min``/``max`` (seconds).
- ``select``: exactly one of ``choices``.

For every type a value must be valid text: no control characters except tab, and no
undecodable bytes. An empty value counts as unset for every type but ``string`` (for a
required ``string`` it counts as unset too).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from lvsocf.agents.errors import ConfigError
from lvsocf.agents.ocfcompat import shown

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

TYPES = ("string", "integer", "boolean", "time", "select")
TRUE_WORDS = frozenset({"yes", "true", "on", "1", "ja", "y"})
FALSE_WORDS = frozenset({"no", "false", "off", "0", "nein", "n"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
_INTEGER = re.compile(r"[+-]?[0-9]{1,30}\Z")
_TIME = re.compile(r"([0-9]{1,15}(?:\.[0-9]{1,9})?) *(us|usec|ms|msec|s|sec|m|min|h|hr)?\Z")
_TIME_UNITS = {
    None: 1.0, "s": 1.0, "sec": 1.0, "us": 1e-6, "usec": 1e-6, "ms": 1e-3, "msec": 1e-3,
    "m": 60.0, "min": 60.0, "h": 3600.0, "hr": 3600.0,
}

Value = str | int | bool | float | None


class Param:
    """One instance parameter, as declared in the agent's meta-data.

    ``unique_group`` names the OCF 1.1 unique-group (parameters whose combined values must be
    unique across resources of this type); ``unique=True`` is shorthand for a group of one.
    ``reloadable`` parameters are applied by the agent's ``reload-agent`` handler.
    ``default`` is what the agent uses when the parameter is unset; it is parsed like a user
    value, so it must be valid for the type.
    """

    __slots__ = (
        "name", "shortdesc", "longdesc", "type", "default", "default_value", "required",
        "unique_group", "reloadable", "choices", "min", "max", "deprecated", "replaced_with",
    )

    def __init__(
        self,
        name: str,
        shortdesc: str,
        longdesc: str = "",
        *,
        type: str = "string",
        default: str | int | bool | None = None,
        required: bool = False,
        unique: bool = False,
        unique_group: str | None = None,
        reloadable: bool = False,
        choices: Iterable[str] = (),
        min: int | float | None = None,
        max: int | float | None = None,
        deprecated: bool = False,
        replaced_with: Iterable[str] = (),
    ) -> None:
        if not _NAME.match(name):
            raise ValueError(f"invalid parameter name {name!r}")
        if type not in TYPES:
            raise ValueError(f"{name}: unknown type {type!r}")
        self.name = name
        self.shortdesc = shortdesc
        self.longdesc = longdesc or shortdesc
        self.type = type
        self.required = required
        self.unique_group = unique_group or (name if unique else None)
        self.reloadable = reloadable
        self.choices = tuple(choices)
        self.min = min
        self.max = max
        self.deprecated = deprecated or bool(replaced_with)
        self.replaced_with = tuple(replaced_with)
        if (type == "select") != bool(self.choices):
            raise ValueError(f"{name}: choices go with type select, and select needs choices")
        if required and default is not None:
            raise ValueError(f"{name}: a required parameter has no default")
        if isinstance(default, bool):
            default = "true" if default else "false"
        self.default = None if default is None else str(default)
        try:
            self.default_value = None if self.default is None else self.parse(self.default)
        except ConfigError as err:
            raise ValueError(f"invalid default: {err}") from None

    def parse(self, raw: str) -> Value:
        """The typed value of ``raw``; raises :class:`ConfigError` naming the parameter."""
        for ch in raw:
            if not ch.isprintable() and ch != "\t":
                bad = "\ud800" <= ch <= "\udfff"
                what = "undecodable bytes" if bad else "non-printable characters"
                raise ConfigError(f"parameter {self.name}: value {shown(raw)} contains {what}")
        kind = self.type
        if kind == "string":
            return raw
        text = raw.strip(" \t")
        if kind == "select":
            if raw in self.choices:
                return raw
            raise ConfigError(f"parameter {self.name}: {shown(raw)} is not one of "
                              + ", ".join(self.choices))
        if kind == "boolean":
            word = text.lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
            raise ConfigError(f"parameter {self.name}: {shown(raw)} is not a boolean "
                              "(use true or false)")
        if kind == "integer":
            if not _INTEGER.match(text):
                raise ConfigError(f"parameter {self.name}: {shown(raw)} is not an integer")
            return self._bounded(int(text), raw)
        match = _TIME.match(text.lower())
        if not match:
            raise ConfigError(f"parameter {self.name}: {shown(raw)} is not a time "
                              "(a number with an optional unit ms, s, m or h)")
        return self._bounded(float(match.group(1)) * _TIME_UNITS[match.group(2)], raw)

    def _bounded(self, value: int | float, raw: str) -> int | float:
        if self.min is not None and value < self.min:
            raise ConfigError(f"parameter {self.name}: {shown(raw)} is below {self.min}")
        if self.max is not None and value > self.max:
            raise ConfigError(f"parameter {self.name}: {shown(raw)} is above {self.max}")
        return value


def read_params(
    params: Iterable[Param], environ: Mapping[str, str]
) -> tuple[dict[str, Value], list[str]]:
    """Typed values of every declared parameter, and the problems found.

    An unset parameter gets its default (or None); an invalid one gets None and a problem.
    Missing required parameters are problems too; whether problems are fatal is the
    caller's decision (they are not for stop and probes).
    """
    values: dict[str, Value] = {}
    problems: list[str] = []
    for p in params:
        raw = environ.get("OCF_RESKEY_" + p.name)
        if raw == "" and (p.type != "string" or p.required):
            raw = None
        if raw is None:
            values[p.name] = p.default_value
            if p.required:
                problems.append(f"required parameter {p.name} is not set")
            continue
        try:
            values[p.name] = p.parse(raw)
        except ConfigError as err:
            values[p.name] = None
            problems.append(str(err))
    return values, problems


class Params(Mapping):
    """An agent's typed parameter values (from :func:`read_params`) with their declarations.

    As a mapping it holds the values as parsed (None for an unset parameter without a default,
    and for an invalid one). The accessors fall back on the declared default, so no caller
    repeats it: ``params.integer("syncid")`` is the declared 0 when syncid is unset, and
    ``params.text("sync_threshold")`` the declared "0 0" when it is set to "", and
    ``params.seconds("check_interval")`` the declared 5.0 when it is unset.
    A name that is not declared is a KeyError.
    """

    __slots__ = ("_values", "_declared")

    def __init__(self, declared: Iterable[Param], values: Mapping[str, Value]) -> None:
        self._declared = {p.name: p for p in declared}
        self._values = dict(values)

    @classmethod
    def of(cls, declared: Iterable[Param], values: Mapping[str, Value]) -> Params:
        """``values`` if they are Params already, else them with these declarations."""
        return values if isinstance(values, Params) else cls(declared, values)

    def __getitem__(self, name: str) -> Value:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Params({self._values!r})"

    def value(self, name: str) -> Value:
        """The parameter's value, or its declared default when it is unset: None (not given,
        or invalid) or an empty string."""
        value = self._values.get(name)
        return self._declared[name].default_value if value is None or value == "" else value

    def text(self, name: str) -> str:
        """The value as text; "" for an unset parameter without a default."""
        value = self.value(name)
        return "" if value is None else str(value)

    def flag(self, name: str) -> bool:
        """A boolean parameter; False when it is unset and has no default."""
        return bool(self.value(name))

    def seconds(self, name: str) -> float:
        """A time (or number) parameter in seconds; 0.0 when it is unset and has no default."""
        value = self.value(name)
        return 0.0 if value is None else float(value)

    def integer(self, name: str, unset: int | None = None) -> int | None:
        """The value as an integer, else the declared default, else ``unset``.

        ``unset`` is only for a parameter declared without a default: it names what stands
        for "not set" where the value goes (0 for the kernel's own default, for example).
        """
        if unset is not None and self._declared[name].default is not None:
            raise ValueError(f"parameter {name} declares its default: no unset value for it")
        value = self.value(name)
        return unset if value is None else int(value)
