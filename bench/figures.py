"""How the benchmarks print figures: the median of repeated runs with their range, and ratios.
(No lab imports: bench/apply times whole processes that import this.)"""
from __future__ import annotations

import statistics


def median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def spread(values: list, unit: str = "s", digits: int = 1) -> str:
    """The median of the values given (None: missing) and, with more than one, (min-max)."""
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}{unit}"
    return (f"{statistics.median(values):.{digits}f}{unit} "
            f"({min(values):.{digits}f}-{max(values):.{digits}f})")


def ratio(mine: float | None, peer: float | None) -> str:
    if mine is None or not peer:
        return "-"
    return f"{mine / peer:.2f}x"
