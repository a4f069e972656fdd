"""Aligned plain-text tables and the small value formatters `lvsocf` output shares."""
from __future__ import annotations

from collections.abc import Sequence

RIGHT = ">"
LEFT = "<"


def render(header: Sequence[str], rows: Sequence[Sequence[str]],
           align: Sequence[str] | None = None, gap: int = 2) -> list[str]:
    """Lines of an aligned table; `align` holds "<" or ">" per column (default left).

    A row shorter than the header leaves its last columns empty; the last column is never
    padded, so lines carry no trailing blanks.
    """
    count = len(header)
    align = list(align or [LEFT] * count)
    cells = [list(header)] + [[*row, *[""] * (count - len(row))][:count] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(count)]
    lines = []
    for row in cells:
        parts = []
        for i, cell in enumerate(row):
            last = i == count - 1
            if align[i] == RIGHT:
                parts.append(cell.rjust(widths[i]))
            else:
                parts.append(cell if last else cell.ljust(widths[i]))
        lines.append((" " * gap).join(parts).rstrip())
    return lines


def si(value: int | float | None, unit: str = "") -> str:
    """1234567 -> '1.2M' (powers of 1000, like ipvsadm without --exact); None -> '-'."""
    if value is None:
        return "-"
    number = float(value)
    for suffix in ("", "K", "M", "G", "T"):
        if abs(number) < 1000 or suffix == "T":
            break
        number /= 1000
    if suffix == "":
        return f"{int(value)}{unit}"
    return f"{number:.1f}{suffix}{unit}" if number < 100 else f"{number:.0f}{suffix}{unit}"


def duration(seconds: float | None) -> str:
    """A short age: '45s', '3m05s', '2h07m', '4d03h'; None -> '-'."""
    if seconds is None:
        return "-"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def latency(seconds: float | None) -> str:
    """Check latency: '0.4ms', '12ms', '1.20s'; None -> '-'."""
    if seconds is None:
        return "-"
    ms = seconds * 1000
    if ms < 10:
        return f"{ms:.1f}ms"
    if ms < 1000:
        return f"{ms:.0f}ms"
    return f"{seconds:.2f}s"
