"""The text view of `lvsocf status`, drawn from the JSON document of report.py."""
from __future__ import annotations

import time
from typing import Any

from lvsocf.cli.table import RIGHT, duration, latency, render, si

HEADER = ("VIRTUAL SERVICE / REAL SERVER", "SCHED/FWD", "WEIGHT", "ACTIVE", "INACT", "CONNS",
          "CPS", "PPS IN/OUT", "BPS IN/OUT", "HEALTH", "SINCE", "LATENCY", "RESOURCE", "DETAIL")
ALIGN = ("<", "<", RIGHT, RIGHT, RIGHT, RIGHT, RIGHT, RIGHT, RIGHT, "<", RIGHT, RIGHT, "<", "<")
HEALTH_WORDS = {"up": "up", "down": "DOWN", "soft_down": "up (failing)",
                "soft_up": "DOWN (rising)", "unknown": "unknown"}


def _host(address: str | None, port: int) -> str:
    if address is None:
        return "-"
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _service_options(svc: dict[str, Any]) -> str:
    words = []
    if svc["persistent"]:
        words.append(f"persistent {svc['persistent']}s")
        if svc["netmask"] not in (None, "255.255.255.255", 128):
            words.append(f"netmask {svc['netmask']}")
    if svc["pe_name"]:
        words.append(f"pe {svc['pe_name']}")
    if svc["one_packet"]:
        words.append("one-packet")
    if svc["sched_flags"]:
        words.append("flags " + ",".join(svc["sched_flags"]))
    return ", ".join(words)


def _rates(stats: dict[str, int] | None) -> list[str]:
    if stats is None:
        return ["", "", "", ""]
    return [si(stats["conns"]), si(stats["cps"]),
            f"{si(stats['inpps'])}/{si(stats['outpps'])}",
            f"{si(stats['inbps'])}/{si(stats['outbps'])}"]


def _health_cells(row: dict[str, Any], now: float) -> list[str]:
    h = row["health"]
    if h is None:
        if row["role"] == "fallback":
            return ["fallback", "", "", row["resource"] or "", "sorry server of the service"]
        note = "no health record" if row["resource"] else "no lvsocf record"
        return ["-", "", "", row["resource"] or "", note]
    word = HEALTH_WORDS.get(h["state"], h["state"])
    if h["engine_running"] is False:
        word = word[:-1] + ", stale)" if word.endswith(")") else word + " (stale)"
    since = duration(now - h["since"]) if h["since"] is not None else "-"
    detail = h["detail"] or ""
    if h["check"]:
        detail = f"{h['check']}: {detail}" if detail else h["check"]
    if h["error"] and h["error"] != h["detail"]:
        detail = f"{detail}; error: {h['error']}" if detail else f"error: {h['error']}"
    return [word, since, latency(h["latency"]), h["resource"], detail]


def _weight(row: dict[str, Any]) -> str:
    if row["weight"] is None:
        return "-"
    configured = row["health"]["configured_weight"] if row["health"] else None
    if configured is not None and configured != row["weight"]:
        return f"{row['weight']}/{configured}"
    return str(row["weight"])


def service_rows(doc: dict[str, Any]) -> list[list[str]]:
    now = doc["time"]
    rows: list[list[str]] = []
    for svc in doc["services"]:
        rows.append([svc["name"], svc["scheduler"], "", str(svc["active_conns"]),
                     str(svc["inactive_conns"]), *_rates(svc["stats"]), "", "", "",
                     svc["resource"] or "", _service_options(svc)])
        for rs in svc["real_servers"]:
            first = f"  -> {_host(rs['address'], rs['port'])}"
            if not rs["in_table"]:
                health = _health_cells(rs, now)
                why = ("removed (failure_action=remove)" if rs.get("removed_by_failure_action")
                       else "NOT IN TABLE")
                health[4] = f"{why}; {health[4]}" if health[4] else why
                rows.append([first, "-", "-", "", "", "", "", "", "", *health])
                continue
            rows.append([first, rs["method"], _weight(rs), str(rs["active_conns"]),
                         str(rs["inactive_conns"]), *_rates(rs["stats"]),
                         *_health_cells(rs, now)])
    return rows


def _daemon_lines(doc: dict[str, Any]) -> list[str]:
    if not doc["daemons"]:
        return ["Sync daemons: none running"]
    since = next((r.get("backup_since") for r in doc["sync_records"].values()
                  if isinstance(r.get("backup_since"), int | float)), None)
    rows = []
    for d in doc["daemons"]:
        started = ""
        if d["state"] == "backup" and since is not None:
            started = duration(doc["time"] - since)
        rows.append([d["state"], d["interface"], str(d["syncid"]),
                     d["mcast_group"] or "default", str(d["mcast_port"] or "default"),
                     str(d["mcast_ttl"] or "default"), str(d["maxlen"] or "default"), started])
    header = ("SYNC DAEMON", "INTERFACE", "SYNCID", "GROUP", "PORT", "TTL", "MAXLEN", "SINCE")
    return render(header, rows, ("<", "<", RIGHT, "<", RIGHT, RIGHT, RIGHT, RIGHT))


def _engine_lines(doc: dict[str, Any]) -> list[str]:
    e = doc["engine"]
    if e is None:
        return []
    if e["running"] is False:
        return [f"Check engine: not running (last pid {e['pid']})"]
    words = [f"Check engine: pid {e['pid']}"]
    if e.get("workers"):
        words[0] += f" ({e['workers']} workers)"
    if e["started"] is not None:
        words.append(f"up {duration(doc['time'] - e['started'])}")
    for name in ("registrations", "healthy", "down", "checks", "failures"):
        if e[name] is not None:
            words.append(f"{e[name]} {name}")
    return [", ".join(words)]


def _sysctl_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return " ".join(map(str, value))
    return str(value)


def text(doc: dict[str, Any]) -> str:
    """The operator's view: table, sync daemons, sysctls, timeouts, issues."""
    ipvs = doc["ipvs"]
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(doc["time"]))
    lines = [f"lvsocf status on {doc['host']} at {stamp}"]
    if not ipvs["loaded"]:
        lines.append("IPVS is not loaded in this kernel (module ip_vs): no virtual services.")
    else:
        lines[0] += f"; IPVS {ipvs['version']} (connection table size {ipvs['conn_tab_size']})"
        lines.append("")
        if doc["services"]:
            lines += render(HEADER, service_rows(doc), ALIGN)
        else:
            lines.append("No virtual services.")
        lines.append("")
        lines += _daemon_lines(doc)
    lines += _engine_lines(doc)
    sysctls = "  ".join(f"{name}={_sysctl_value(value)}"
                        for name, value in doc["sysctls"].items() if value is not None)
    if sysctls:
        lines.append(f"Sysctls: {sysctls}")
    t = doc["timeouts"]
    if t:
        lines.append(f"Timeouts: tcp {t['tcp']}s  tcpfin {t['tcp_fin']}s  udp {t['udp']}s")
    if doc["issues"]:
        lines += ["", f"Issues ({len(doc['issues'])}):"]
        lines += [f"  - {issue['message']}" for issue in doc["issues"]]
    return "\n".join(lines) + "\n"
