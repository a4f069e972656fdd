"""The Prometheus text exposition format (version 0.0.4), as node_exporter's textfile
collector reads it: per family one HELP and one TYPE line, then its samples; label values
escaped (backslash, double quote, line feed), output always valid UTF-8."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
TYPES = ("gauge", "counter", "untyped")


def _utf8(text: str) -> str:
    """Lone surrogates (JSON allows them) cannot be written as UTF-8: replaced."""
    return text.encode("utf-8", "replace").decode("utf-8")


def escape_label_value(value: str) -> str:
    return _utf8(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    return _utf8(text).replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


@dataclass
class Family:
    """One metric: name, type, help, and its samples (labels, value)."""
    name: str
    type: str
    help: str
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name) or self.type not in TYPES:
            raise ValueError(f"bad metric {self.name!r} of type {self.type!r}")

    def add(self, labels: dict[str, str], value: float | None) -> None:
        """A sample; None (nothing known) is left out."""
        if value is not None:
            self.samples.append((labels, value))


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    for name in labels:
        if not _LABEL.match(name) or name.startswith("__"):
            raise ValueError(f"bad label name {name!r}")
    inner = ",".join(f'{k}="{escape_label_value(str(v))}"' for k, v in labels.items())
    return "{" + inner + "}"


def render(families: list[Family]) -> str:
    """The exposition text; families without samples are left out."""
    lines: list[str] = []
    for fam in families:
        if not fam.samples:
            continue
        lines.append(f"# HELP {fam.name} {escape_help(fam.help)}")
        lines.append(f"# TYPE {fam.name} {fam.type}")
        for labels, value in fam.samples:
            lines.append(f"{fam.name}{_labels(labels)} {format_value(value)}")
    return "".join(line + "\n" for line in lines)
