"""Where this process imported lvsocf from, so that a child Python (the check engine, its
workers) imports exactly the same code.

An installed agent finds lvsocf only because its first lines put PREFIX/lib/lvsocf on
sys.path; a child started with ``python3 -m lvsocf.engine`` does not unless PYTHONPATH names
it. The distribution's packages (lxml, requests) are on the interpreter's own path and need
nothing.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

# Top-level packages that may live outside the interpreter's own path (installed or checkout).
PRIVATE = ("lvsocf",)


def folders(names: tuple[str, ...] = PRIVATE) -> list[str]:
    """The sys.path folders holding ``names``, in sys.path order, each once. find_spec on a
    top-level name searches sys.path without importing the package."""
    found: list[str] = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        places = list(spec.submodule_search_locations or []) or [spec.origin or ""]
        folder = str(Path(places[0]).resolve().parent)
        if places[0] and folder not in found:
            found.append(folder)
    return found


def child_pythonpath() -> str:
    """PYTHONPATH for a child ``python3 -m lvsocf...`` of this process."""
    return os.pathsep.join(folders())
