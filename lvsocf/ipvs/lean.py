"""Kept for its callers (agents/kernel.py, engine/daemon.py): lvsocf.ipvs no longer imports
pyroute2 (protocol.py is plain tables), so there is nothing left to load lean. Remove this
module together with those two calls."""
from __future__ import annotations


def load_netlink_only() -> None:
    """Nothing to do: the netlink backend is pure lvsocf."""
