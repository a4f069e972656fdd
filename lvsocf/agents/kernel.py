"""Agent-side access to lvsocf.ipvs: IPVS errors become OCF errors with plain exit reasons.

Importing this module is cheap; the netlink backend loads on first use.
"""
from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from lvsocf.agents.errors import ArgsError, InstalledError, OcfError, PermError
from lvsocf.ipvs import errors

if TYPE_CHECKING:
    from lvsocf.ipvs.netlink import Ipvs


def as_ocf(exc: errors.IpvsError) -> OcfError:
    if isinstance(exc, errors.NotAvailable | errors.SchedulerMissing):
        return InstalledError(str(exc))
    if isinstance(exc, errors.PermissionDenied):
        return PermError(str(exc))
    if isinstance(exc, errors.InvalidArgument):
        return ArgsError(str(exc))
    return OcfError(str(exc))


@contextlib.contextmanager
def ipvs() -> Iterator[Ipvs]:
    from lvsocf.ipvs.netlink import Ipvs
    try:
        with Ipvs() as k:
            yield k
    except errors.IpvsError as exc:
        raise as_ocf(exc) from None


def loaded() -> bool:
    """IPVS is loaded in this kernel (its /proc file exists): cheap, no netlink."""
    return Path("/proc/net/ip_vs").exists()


def module_available(module: str) -> bool:
    """The kernel module (or a built-in) can be loaded: modprobe's dry run."""
    if Path(f"/sys/module/{module}").exists():
        return True
    try:
        done = subprocess.run(["modprobe", "-n", "-q", module], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0
