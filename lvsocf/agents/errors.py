"""Exceptions an agent raises to end an action with a specific OCF code and exit reason.

The message is the exit reason shown to the user: plain words, no traceback.
"""

from __future__ import annotations

from lvsocf.agents import ocfcompat as _c


class OcfError(Exception):
    """End the action with ``rc`` (default OCF_ERR_GENERIC) and the message as exit reason."""

    rc = _c.OCF_ERR_GENERIC

    def __init__(self, message: str, rc: int | None = None) -> None:
        super().__init__(message)
        if rc is not None:
            self.rc = rc


class ArgsError(OcfError):
    """Parameters invalid in the context of this host (OCF_ERR_ARGS, 2)."""

    rc = _c.OCF_ERR_ARGS


class PermError(OcfError):
    """Insufficient privileges (OCF_ERR_PERM, 4)."""

    rc = _c.OCF_ERR_PERM


class InstalledError(OcfError):
    """Software the resource needs is missing on this host (OCF_ERR_INSTALLED, 5)."""

    rc = _c.OCF_ERR_INSTALLED


class ConfigError(OcfError):
    """Parameters inherently invalid, on any host (OCF_ERR_CONFIGURED, 6)."""

    rc = _c.OCF_ERR_CONFIGURED
