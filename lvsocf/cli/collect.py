"""Read what `lvsocf status` shows: the kernel (netlink, sysctls) and the state records.

Read only: IPVS is never loaded here (a status command must not change the node), so a kernel
without ip_vs loaded gives KernelView(loaded=False). The netlink backend (and pyroute2) is
imported only when reading the kernel.
"""
from __future__ import annotations

import json
import os

from lvsocf import state
from lvsocf.cli.report import RECORD_KINDS, SYSCTLS, KernelView, StateView
from lvsocf.ipvs import errors, sysctl


class CollectError(Exception):
    """The kernel could not be read (permission, netlink failure); str() says why."""


def read_sysctls() -> dict[str, int | list[int] | str | None]:
    """The sync sysctls: int, [int, int] for sync_threshold, None when absent."""
    out: dict[str, int | list[int] | str | None] = {}
    for name in SYSCTLS:
        try:
            text = sysctl.read(name)
        except (sysctl.SysctlError, OSError):
            out[name] = None
            continue
        try:
            numbers = [int(word) for word in text.split()]
        except ValueError:
            out[name] = text
            continue
        out[name] = numbers[0] if len(numbers) == 1 else numbers
    return out


def read_kernel() -> KernelView:
    """The whole IPVS table, daemons, timeouts and sysctls; raises CollectError."""
    from lvsocf.ipvs.netlink import Ipvs  # pure lvsocf: nothing optional to miss
    try:
        with Ipvs(load_module=False) as k:
            version, size = k.version()
            table = []
            for info in k.services():
                try:
                    table.append((info, k.real_servers(info.service.key)))
                except errors.NotFound:   # deleted while we read: skip it
                    continue
            return KernelView(loaded=True, version=version, conn_tab_size=size, table=table,
                              daemons=k.daemons(), timeouts=k.timeouts(),
                              sysctls=read_sysctls())
    except errors.NotAvailable:
        return KernelView(loaded=False, sysctls=read_sysctls())
    except errors.PermissionDenied:
        raise CollectError("permission denied: reading the IPVS table needs CAP_NET_ADMIN "
                           "(run as root)") from None
    except (errors.IpvsError, OSError) as exc:
        raise CollectError(f"cannot read the IPVS table: {exc}") from None


def read_state() -> StateView:
    """Every record of the kinds status shows; unreadable files are listed, never fatal."""
    root = state.state_dir()
    view = StateView(directory=str(root))
    for kind in RECORD_KINDS:
        folder = root / kind
        found: dict = {}
        view.records[kind] = found
        try:
            paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
            if not paths and folder.is_dir() and not os.access(folder, os.R_OK | os.X_OK):
                raise PermissionError
        except PermissionError:
            view.directory_error = (f"cannot read the state records in {root}: permission "
                                    "denied (run as root)")
            continue
        except OSError as exc:
            view.directory_error = f"cannot read the state records in {folder}: {exc}"
            continue
        for path in paths:
            try:
                found[path.stem] = json.loads(path.read_text())
            except (OSError, UnicodeDecodeError) as exc:
                view.unreadable.append((kind, path.stem, f"cannot read: {exc}"))
            except ValueError as exc:
                view.unreadable.append((kind, path.stem, f"not valid JSON: {exc}"))
    return view
