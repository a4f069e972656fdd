"""`lvsocf status` as data: the kernel's IPVS table joined with lvsocf's state records.

Pure: build() takes what collect.py read (or what a test constructs) and returns the JSON
document that `lvsocf status --json` prints and the text view is drawn from. Nothing here
raises on bad records: every record that is unreadable, malformed, duplicated or points at an
entry the kernel does not have becomes an entry of "issues".
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from lvsocf.cli.records import (
    Malformed,
    RsKey,
    parse_engine,
    parse_health,
    parse_realserver,
    parse_service,
    pid_alive,
)
from lvsocf.ipvs.model import RealServerInfo, ServiceInfo, ServiceKey, Stats, SyncDaemon, Timeouts
from lvsocf.records import SyncRecord

SCHEMA = 1
SYSCTLS = ("sync_threshold", "sync_refresh_period", "sync_retries", "backup_only", "sloppy_tcp",
           "expire_nodest_conn", "expire_quiescent_template")
RECORD_KINDS = ("services", "realservers", "health", "sync", "engine")


@dataclass
class KernelView:
    """What the kernel said. loaded=False: IPVS is not in this kernel (nothing else read)."""

    loaded: bool
    version: str | None = None
    conn_tab_size: int | None = None
    table: list[tuple[ServiceInfo, list[RealServerInfo]]] = field(default_factory=list)
    daemons: list[SyncDaemon] = field(default_factory=list)
    timeouts: Timeouts | None = None
    sysctls: dict[str, str | None] = field(default_factory=dict)


@dataclass
class StateView:
    """The state records as read: kind -> name -> parsed JSON (any type), plus the files that
    could not be read or parsed as (kind, name, why) and directories that could not be listed."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    unreadable: list[tuple[str, str, str]] = field(default_factory=list)
    directory: str = ""
    directory_error: str | None = None


def key_dict(key: ServiceKey) -> dict[str, Any]:
    return {"protocol": None if key.fwmark else key.protocol, "address": key.address,
            "port": key.port, "fwmark": key.fwmark, "family": key.family}


def _rs_name(key: ServiceKey, address: str, port: int) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"{key} -> {host}:{port}"


def stats_dict(stats: Stats | None) -> dict[str, int] | None:
    return None if stats is None else stats._asdict()


# ---- the join ----------------------------------------------------------------------------

class _Builder:
    def __init__(self, kernel: KernelView, state: StateView, now: float,
                 alive: Callable[[int], bool]) -> None:
        self.kernel = kernel
        self.state = state
        self.now = now
        self.alive = alive
        self.issues: list[dict[str, Any]] = []

    def issue(self, kind: str, message: str, record: str | None = None) -> None:
        self.issues.append({"kind": kind, "record": record, "message": message})

    def records(self, kind: str) -> dict[str, Any]:
        return self.state.records.get(kind, {})

    # -- parse each kind into keyed dicts, reporting what does not parse
    def parse_services(self) -> dict[ServiceKey, tuple[str, dict[str, Any]]]:
        return self._parse("services", parse_service)

    def parse_rs_records(self, kind: str) -> dict[RsKey, tuple[str, dict[str, Any]]]:
        if kind == "health":
            return self._parse(kind, lambda raw: parse_health(raw, self.alive))
        return self._parse(kind, parse_realserver)

    def _parse(self, kind: str, parser: Callable[[Any], tuple[Any, dict[str, Any]]],
               ) -> dict[Any, tuple[str, dict[str, Any]]]:
        """Records of a kind by what they describe; malformed and duplicates are issues."""
        out: dict[Any, tuple[str, dict[str, Any]]] = {}
        for name, raw in self.records(kind).items():
            try:
                key, parsed = parser(raw)
            except Malformed as exc:
                self.issue("malformed_record", f"{kind} record {name!r}: {exc}", f"{kind}/{name}")
                continue
            if key in out:
                what = _rs_name(*key) if isinstance(key, tuple) else str(key)
                self.issue("duplicate_record", f"{kind} records {out[key][0]!r} and {name!r} "
                           f"both claim {what}", f"{kind}/{name}")
                continue
            out[key] = (name, parsed)
        return out

    # -- the document
    def build(self) -> dict[str, Any]:
        k, st = self.kernel, self.state
        if st.directory_error:
            self.issue("state_unreadable", st.directory_error)
        for kind, name, why in st.unreadable:
            self.issue("unreadable_record", f"{kind} record {name!r}: {why}", f"{kind}/{name}")
        svc_records = self.parse_services()
        rs_records = self.parse_rs_records("realservers")
        health = self.parse_rs_records("health")
        any_record = bool(svc_records or rs_records or health)
        seen_keys = {info.service.key for info, _ in k.table}
        services = [self.service(info, dests, svc_records.get(info.service.key), rs_records,
                                 health, any_record) for info, dests in k.table]
        for key, (name, _) in svc_records.items():
            if key not in seen_keys:
                self.issue("not_in_table", f"services record {name!r}: {key} is not in the "
                           "IPVS table", f"services/{name}")
        for kind, recs in (("realservers", rs_records), ("health", health)):
            for rs_key, (name, _) in recs.items():
                if rs_key[0] not in seen_keys:
                    self.issue("not_in_table", f"{kind} record {name!r}: service {rs_key[0]} "
                               "is not in the IPVS table", f"{kind}/{name}")
        sync = self.sync_records()
        return {
            "engine": self.engine(),
            "schema": SCHEMA,
            "time": self.now,
            "host": os.uname().nodename,
            "ipvs": {"loaded": k.loaded, "version": k.version, "conn_tab_size": k.conn_tab_size},
            "services": services,
            "daemons": [asdict(d) for d in k.daemons],
            "sync_records": sync,
            "sysctls": dict(k.sysctls),
            "timeouts": asdict(k.timeouts) if k.timeouts else None,
            "state_dir": st.directory,
            "issues": self.issues,
        }

    def service(self, info: ServiceInfo, dests: list[RealServerInfo],
                svc_rec: tuple[str, dict[str, Any]] | None,
                rs_records: dict[RsKey, tuple[str, dict[str, Any]]],
                health: dict[RsKey, tuple[str, dict[str, Any]]],
                any_record: bool) -> dict[str, Any]:
        """One service of the table with its rows: kernel entries, then records of entries
        the kernel does not have."""
        key = info.service.key
        fallback = svc_rec[1]["fallback"] if svc_rec else None
        rows = []
        seen = set()
        for dest in dests:
            rs = dest.real_server
            rs_key = (key, rs.address, rs.port)
            seen.add(rs_key)
            rows.append(self.kernel_row(key, dest, rs_records.get(rs_key), health.get(rs_key),
                                        fallback))
        rows += self.absent_rows(key, rs_records, health, seen)
        if svc_rec is not None or any(r["resource"] for r in rows):
            for row in rows:
                if row["in_table"] and row["role"] == "real_server" and not row["resource"]:
                    self.issue("unmanaged", f"{_rs_name(key, row['address'], row['port'])}: "
                               "in the IPVS table but no lvsocf record (added by hand, or "
                               "left over)")
        elif any_record:
            self.issue("unmanaged", f"{key}: in the IPVS table but no lvsocf record (added by "
                       "hand, or left over)")
        return self.service_entry(info, dests, rows, svc_rec[0] if svc_rec else None)

    def service_entry(self, info: ServiceInfo, dests: list[RealServerInfo],
                      rows: list[dict[str, Any]], resource: str | None) -> dict[str, Any]:
        svc = info.service
        return {
            "name": str(svc.key),
            "key": key_dict(svc.key),
            "resource": resource,
            "scheduler": svc.scheduler,
            "sched_flags": sorted(svc.sched_flags),
            "persistent": svc.persistent,
            "netmask": svc.netmask if svc.persistent else None,
            "pe_name": svc.pe_name or None,
            "one_packet": svc.one_packet,
            "active_conns": sum(d.active_conns for d in dests),
            "inactive_conns": sum(d.inactive_conns for d in dests),
            "stats": stats_dict(info.stats),
            "real_servers": rows,
        }

    def kernel_row(self, key: ServiceKey, dest: RealServerInfo,
                   rs_rec: tuple[str, dict[str, Any]] | None,
                   health: tuple[str, dict[str, Any]] | None,
                   fallback: dict[str, Any] | None) -> dict[str, Any]:
        rs = dest.real_server
        name = _rs_name(key, rs.address, rs.port)
        is_fallback = bool(fallback and fallback["address"] == rs.address
                           and fallback["port"] in (rs.port, 0))
        row = {
            "address": rs.address, "port": rs.port, "in_table": True,
            "role": "fallback" if is_fallback else "real_server",
            "resource": (health or rs_rec or (None, None))[0],
            "method": rs.method, "weight": rs.weight,
            "u_threshold": rs.u_threshold, "l_threshold": rs.l_threshold,
            "active_conns": dest.active_conns, "inactive_conns": dest.inactive_conns,
            "persistent_conns": dest.persistent_conns, "stats": stats_dict(dest.stats),
            "failure_action": _failure_action(rs_rec, health),
            "health": self.health_entry(name, health),
        }
        if health is None and rs_rec is not None:
            self.issue("no_health", f"{name}: no health record yet (is the check engine "
                       "running?)", f"realservers/{rs_rec[0]}")
        if health is not None:
            applied = health[1]["weight"]
            if applied is not None and applied != rs.weight:
                self.issue("weight_mismatch", f"{name}: the check engine applied weight "
                           f"{applied}, the kernel has {rs.weight}", f"health/{health[0]}")
        return row

    def health_entry(self, name: str, health: tuple[str, dict[str, Any]] | None,
                     ) -> dict[str, Any] | None:
        if health is None:
            return None
        entry = {"resource": health[0], **health[1]}
        if entry["engine_running"] is False:
            self.issue("engine_not_running", f"{name}: health record written by engine pid "
                       f"{entry['engine_pid']}, which is not running (the record is stale)",
                       f"health/{health[0]}")
        return entry

    def absent_rows(self, key: ServiceKey, rs_records: dict[RsKey, tuple[str, dict[str, Any]]],
                    health: dict[RsKey, tuple[str, dict[str, Any]]],
                    seen: set[RsKey]) -> list[dict[str, Any]]:
        """Rows for records of this service whose real server is not in the table."""
        rows = []
        keys = sorted({rk for rk in (*rs_records, *health) if rk[0] == key and rk not in seen},
                      key=lambda rk: (rk[1], rk[2]))
        for rs_key in keys:
            rs_rec, hrec = rs_records.get(rs_key), health.get(rs_key)
            name = _rs_name(*rs_key)
            action = _failure_action(rs_rec, hrec)
            entry = self.health_entry(name, hrec)
            expected = (action == "remove" and entry is not None and not entry["healthy"])
            record = f"health/{hrec[0]}" if hrec else f"realservers/{rs_rec[0]}"
            if not expected:
                self.issue("not_in_table", f"{name}: has a record ({record}) but is not in "
                           "the IPVS table", record)
            rows.append({
                "address": rs_key[1], "port": rs_key[2], "in_table": False,
                "role": "real_server", "resource": (hrec or rs_rec or (None, None))[0],
                "method": None, "weight": None, "u_threshold": None, "l_threshold": None,
                "active_conns": None, "inactive_conns": None, "persistent_conns": None,
                "stats": None, "failure_action": action, "health": entry,
                "removed_by_failure_action": expected,
            })
        return rows

    def engine(self) -> dict[str, Any] | None:
        """The check engine's own status record (engine/status), if it wrote one."""
        raw = self.records("engine").get("status")
        if raw is None:
            return None
        try:
            return parse_engine(raw, self.alive)
        except Malformed as exc:
            self.issue("malformed_record", f"engine record 'status': {exc}", "engine/status")
            return None

    def sync_records(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, raw in self.records("sync").items():
            try:
                SyncRecord.from_json(raw)
            except Malformed as exc:
                self.issue("malformed_record", f"sync record {name!r}: {exc}", f"sync/{name}")
                continue
            out[name] = raw
        if out and self.kernel.loaded and not self.kernel.daemons:
            for name in out:
                self.issue("no_daemon", f"sync record {name!r}: no sync daemon is running",
                           f"sync/{name}")
        return out


def _failure_action(rs_rec: tuple[str, dict[str, Any]] | None,
                    health: tuple[str, dict[str, Any]] | None) -> str | None:
    if rs_rec is not None and rs_rec[1]["failure_action"]:
        return rs_rec[1]["failure_action"]
    return health[1]["failure_action"] if health is not None else None


def build(kernel: KernelView, state: StateView, now: float,
          alive: Callable[[int], bool] = pid_alive) -> dict[str, Any]:
    """The `lvsocf status --json` document (see JSON_HELP in status.py for the keys)."""
    return _Builder(kernel, state, now, alive).build()
