"""Load pyroute2.netlink (the message framework lvsocf.ipvs.protocol is built on) without
running pyroute2/__init__.py, which imports IPRoute, NDB, asyncio helpers and more: 0.25 s on
a host and ~3 s under TCG, against ~4 ms for pyroute2.netlink alone. For processes that own
their sys.modules (an agent action, the engine); never for library users. On any surprise
the normal import is left to happen."""
from __future__ import annotations

import importlib.util
import sys
import types


def load_netlink_only() -> None:
    if "pyroute2" in sys.modules:
        return
    try:
        spec = importlib.util.find_spec("pyroute2")
        if spec is None or not spec.submodule_search_locations:
            return
        package = types.ModuleType("pyroute2")
        package.__path__ = list(spec.submodule_search_locations)
        package.__spec__ = spec
        sys.modules["pyroute2"] = package
        import lvsocf.ipvs.protocol  # noqa: F401
    except Exception:
        for name in [n for n in sys.modules if n == "pyroute2" or n.startswith(
                ("pyroute2.", "lvsocf.ipvs.protocol"))]:
            del sys.modules[name]
