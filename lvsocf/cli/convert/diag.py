"""Warnings and errors of one conversion, each tied to a line of the source file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NoReturn


class ConvertError(Exception):
    """Bad input: reported as ``file:LINE: error: message`` and exit status 2."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class Diagnostics:
    """Collects warnings (things that cannot be carried over) for one input file."""

    filename: str
    warnings: list[tuple[int | None, str]] = field(default_factory=list)

    def warn(self, line: int | None, message: str) -> None:
        entry = (line, message)
        if entry not in self.warnings:
            self.warnings.append(entry)

    def error(self, line: int | None, message: str) -> NoReturn:
        raise ConvertError(line, message)

    def where(self, line: int | None) -> str:
        return f"{self.filename}:{line}" if line else self.filename

    def format_warnings(self) -> list[str]:
        ordered = sorted(self.warnings, key=lambda w: w[0] or 0)  # stable: same line keeps order
        return [f"{self.where(line)}: warning: {msg}" for line, msg in ordered]

    def format_error(self, err: ConvertError) -> str:
        return f"{self.where(err.line)}: error: {err.message}"
