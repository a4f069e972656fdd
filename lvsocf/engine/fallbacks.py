"""Which fallback server each service had: a reload that changes or removes a service's
fallback leaves the old one to take out of the kernel. Known only while this engine runs;
the entry is taken out once, then forgotten (a retry keeps it until it is)."""
from __future__ import annotations

from lvsocf.ipvs.model import RealServer, ServiceKey


class FallbackHistory:
    def __init__(self) -> None:
        self._current: dict[ServiceKey, RealServer] = {}
        self._retired: dict[ServiceKey, RealServer] = {}

    def keys(self) -> set[ServiceKey]:
        """Every service with a fallback now or one still to take out."""
        return self._current.keys() | self._retired.keys()

    def note(self, key: ServiceKey, now: RealServer | None) -> RealServer | None:
        """Record `key`'s fallback as `now`; return the previous one if it is still to go."""
        old = self._current.pop(key, None)
        if now is not None:
            self._current[key] = now
        if old is not None and (now is None or old.ident != now.ident):
            self._retired[key] = old
        retired = self._retired.get(key)
        if retired is not None and now is not None and retired.ident == now.ident:
            del self._retired[key]          # changed back before it was taken out
            return None
        return retired

    def taken_out(self, key: ServiceKey) -> None:
        self._retired.pop(key, None)
