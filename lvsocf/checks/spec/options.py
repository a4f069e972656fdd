"""The typed options object of a check kind and its one conversion from record values.

Every check kind declares the IPVSRealServer parameters it reads (lvsocf.agents.params.Param:
name, type, default, descriptions) and a frozen dataclass of their typed values, a subclass of
CheckOptions whose fields are named after those parameters. ``Options.of(values)`` builds it
from a record's option map (JSON values): an unset or empty value gets the declared default;
a value of the declared JSON type is kept; a string for a boolean, integer or time option (a
record written before options were typed) is converted with the parameters' own parser, so
there is one boolean vocabulary (the OCF one); anything else is a CheckConfigError naming the
option.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, ClassVar, TypeVar

from lvsocf.agents.errors import ConfigError
from lvsocf.agents.params import Param, Value

from ..base import CheckConfigError

Opts = TypeVar("Opts", bound="CheckOptions")

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "select": (str,), "boolean": (bool,), "integer": (int,),
    "time": (int, float)}
_WORDS = {"string": "a string", "select": "a string", "boolean": "true or false",
          "integer": "an integer", "time": "a number of seconds"}


def typed(param: Param, raw: Any) -> Value:
    """The typed value of one option as a record holds it (see the module docstring)."""
    if isinstance(raw, str):
        raw = raw.strip()
    if raw is None or raw == "":
        return "" if param.default_value is None and param.type == "string" \
            else param.default_value
    if isinstance(raw, str) and param.type not in ("string", "select"):
        return _parsed(param, raw)
    if not isinstance(raw, _JSON_TYPES[param.type]) or (
            isinstance(raw, bool) and param.type != "boolean"):
        raise CheckConfigError(f"{param.name}: expected {_WORDS[param.type]}, got {raw!r}")
    if param.type in ("integer", "time"):
        return _parsed(param, str(raw))     # the declared bounds
    return raw


def _parsed(param: Param, raw: str) -> Value:
    try:
        return param.parse(raw)
    except ConfigError as err:
        raise CheckConfigError(str(err).removeprefix("parameter ")) from None


class CheckOptions:
    """Base of the frozen options dataclasses; USES lists the parameters of the fields."""

    USES: ClassVar[tuple[Param, ...]] = ()

    @classmethod
    def of(cls: type[Opts], values: Mapping[str, Any] | Opts) -> Opts:
        """The options from a record's option map (names that are no field are ignored),
        or ``values`` itself when it is one already; CheckConfigError naming a bad option."""
        if isinstance(values, cls):
            return values
        declared = {p.name: p for p in cls.USES}
        return cls(**{f.name: typed(declared[f.name], values.get(f.name))
                      for f in fields(cls)})      # type: ignore[arg-type]
