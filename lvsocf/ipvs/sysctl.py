"""The IPVS sysctls (net.ipv4.vs.*) the agents set, per network namespace."""
from __future__ import annotations

from pathlib import Path

ROOT = Path("/proc/sys/net/ipv4/vs")
KNOWN = ("sync_threshold", "sync_refresh_period", "sync_retries", "sync_version",
         "sync_persist_mode", "sync_ports", "sync_qlen_max", "sync_sock_size", "backup_only",
         "expire_nodest_conn", "expire_quiescent_template", "sloppy_tcp", "sloppy_sctp",
         "conn_reuse_mode", "conntrack", "schedule_icmp", "ignore_tunneled")


class SysctlError(OSError):
    pass


def _path(name: str, root: Path) -> Path:
    if name not in KNOWN:
        raise SysctlError(f"unknown IPVS sysctl {name!r}")
    return root / name


def read(name: str, root: Path = ROOT) -> str:
    """The value as the kernel prints it, whitespace folded ('3 50')."""
    try:
        return " ".join(_path(name, root).read_text().split())
    except FileNotFoundError:
        raise SysctlError(f"net.ipv4.vs.{name} is not available (is ip_vs loaded?)") from None


def write(name: str, value: str | int, root: Path = ROOT) -> None:
    try:
        _path(name, root).write_text(f"{value}\n")
    except FileNotFoundError:
        raise SysctlError(f"net.ipv4.vs.{name} is not available (is ip_vs loaded?)") from None
    except OSError as exc:
        raise SysctlError(f"net.ipv4.vs.{name}={value}: {exc.strerror}") from None


def ensure(settings: dict[str, str | int], root: Path = ROOT) -> dict[str, str]:
    """Write only the values that differ; return {name: old value} of what changed."""
    changed = {}
    for name, value in settings.items():
        old = read(name, root)
        if old != " ".join(str(value).split()):
            write(name, value, root)
            changed[name] = old
    return changed
