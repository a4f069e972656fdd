"""argparse types for bounded numbers, with the messages every subcommand uses."""
from __future__ import annotations

import argparse
from collections.abc import Callable


def bounded(convert: Callable[[str], float], low: float, high: float, noun: str,
            unit: str = "", low_open: bool = False) -> Callable[[str], float]:
    """convert(text) within [low, high], or (low, high] with low_open."""
    span = (f"more than {low:g} and at most {high:g}" if low_open else f"{low:g} to {high:g}")

    def parse(text: str) -> float:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {noun}: {text!r}") from None
        if not (low < value if low_open else low <= value) or value > high:
            raise argparse.ArgumentTypeError(f"expected {span}{unit}")
        return value
    return parse
