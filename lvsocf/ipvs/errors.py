"""Typed IPVS errors with plain messages (what an operator can act on)."""
from __future__ import annotations

import errno


class IpvsError(Exception):
    """Any IPVS failure; str() is a plain sentence. `op`: the lvsocf.ipvs.op.Op that failed,
    when the error answers one."""

    op = None


class NotAvailable(IpvsError):
    """The kernel has no IPVS (module missing or cannot load)."""


class PermissionDenied(IpvsError):
    pass


class Exists(IpvsError):
    pass


class NotFound(IpvsError):
    pass


class SchedulerMissing(IpvsError):
    """Scheduler or persistence engine not in the kernel."""


class InvalidArgument(IpvsError):
    """The kernel refused the values (e.g. address family mismatch, bad netmask)."""


def from_errno(code: int, what: str) -> IpvsError:
    """Map a netlink errno for an operation on `what` to a typed error."""
    if code in (errno.EPERM, errno.EACCES):
        return PermissionDenied(f"{what}: permission denied (IPVS needs CAP_NET_ADMIN)")
    if code == errno.EEXIST:
        return Exists(f"{what}: already exists")
    if code in (errno.ESRCH, errno.ENOENT):
        return NotFound(f"{what}: not found")
    if code == errno.EAFNOSUPPORT:
        return InvalidArgument(f"{what}: address family mismatch or not supported")
    if code == errno.EINVAL:
        return InvalidArgument(f"{what}: invalid argument (the kernel refused the values)")
    if code == errno.EBUSY:
        return IpvsError(f"{what}: busy")
    return IpvsError(f"{what}: {errno.errorcode.get(code, code)} ({code})")
