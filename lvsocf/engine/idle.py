"""How long the engine has had nothing to do (for --idle-exit)."""
from __future__ import annotations

import time


class IdleTimer:
    def __init__(self, limit: float | None) -> None:
        self.limit = limit              # None: never expires
        self._since: float | None = None

    def expired(self, busy: bool) -> bool:
        """Note whether there is work now; True once there was none for `limit` seconds."""
        if self.limit is None or busy:
            self._since = None
            return False
        now = time.monotonic()
        if self._since is None:
            self._since = now
        return now - self._since >= self.limit
