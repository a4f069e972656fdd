"""`lvsocf status` text view and command line, from constructed kernel views and records."""
from __future__ import annotations

import io
import json
import re

import pytest
from status_fixtures import NOW, WEB_KEY, health

from lvsocf.cli import collect, status
from lvsocf.cli.render import text
from lvsocf.cli.report import KernelView, StateView, build
from lvsocf.cli.table import duration, latency, render, si


def alive(pid):
    return pid == 1


def lines_of(kernel, records):
    return text(build(kernel, records, NOW, alive=alive)).splitlines()


def row(lines, start):
    return next(line for line in lines if line.startswith(start))


def columns(lines):
    """Start offset of each header column: the data cells must line up under them."""
    header = row(lines, "VIRTUAL SERVICE")
    return {m.group(): m.start() for m in re.finditer(r"[A-Z/]+(?: [A-Z/]+)*", header)}


def test_table_is_aligned_and_readable(kernel, records):
    lines = lines_of(kernel, records)
    assert lines[0].startswith("lvsocf status on ") and "IPVS 1.2.1" in lines[0]
    header = row(lines, "VIRTUAL SERVICE")
    for name in ("SCHED/FWD", "WEIGHT", "ACTIVE", "INACT", "CONNS", "CPS", "PPS IN/OUT",
                 "BPS IN/OUT", "HEALTH", "SINCE", "LATENCY", "RESOURCE", "DETAIL"):
        assert name in header
    web = row(lines, "tcp 10.0.0.1:80")
    rs1 = row(lines, "  -> 10.0.1.1:80")
    col = columns(lines)
    # left-aligned columns start exactly under their header, right-aligned ones end there
    assert rs1[col["SCHED/FWD"]:].startswith("masq")
    assert web[col["SCHED/FWD"]:].startswith("wlc")
    assert rs1[col["HEALTH"]:].startswith("up ")
    assert rs1[col["RESOURCE"]:].startswith("web-rs1")
    weight_end = col["WEIGHT"] + len("WEIGHT")
    assert rs1[:weight_end].endswith(" 3")
    active_end = col["ACTIVE"] + len("ACTIVE")
    assert rs1[:active_end].endswith(" 7") and web[:active_end].endswith(" 7")
    assert all(line == line.rstrip() for line in lines)


def test_cells_show_units_health_and_notes(kernel, records):
    lines = lines_of(kernel, records)
    web = row(lines, "tcp 10.0.0.1:80")
    assert "1.2M" in web and "12/11" in web and "2.5K/1.5M" in web
    assert "persistent 300s, netmask 255.255.255.0" in web
    rs1 = row(lines, "  -> 10.0.1.1:80")
    assert "3m05s" in rs1 and "0.4ms" in rs1 and "tcp: connected" in rs1
    rs2 = row(lines, "  -> 10.0.1.2:80")
    assert " 0/3 " in rs2 and "DOWN" in rs2 and "45s" in rs2 and "3.00s" in rs2
    assert "timed out after 3s" in rs2
    assert "fallback" in row(lines, "  -> 127.0.0.1:8080")
    assert "no lvsocf record" in row(lines, "  -> 10.0.1.3:80")
    assert "NOT IN TABLE" in row(lines, "  -> 10.0.1.8:80")
    assert "removed (failure_action=remove)" in row(lines, "  -> 10.0.1.9:80")
    assert "no health record" in row(lines, "  -> [2001:db8::11]:53")
    dns = row(lines, "  -> [2001:db8::10]:53")
    assert "up (failing, stale)" in dns and "dns: SERVFAIL" in dns
    assert "one-packet, flags flag-1" in row(lines, "udp [2001:db8::1]:53")
    assert "flags sh-port" in row(lines, "fwmark 7 (inet)")


def test_daemons_sysctls_timeouts_issues(kernel, records):
    lines = lines_of(kernel, records)
    assert row(lines, "SYNC DAEMON").split() == ["SYNC", "DAEMON", "INTERFACE", "SYNCID",
                                                  "GROUP", "PORT", "TTL", "MAXLEN", "SINCE"]
    assert row(lines, "master").split() == ["master", "sync0", "5", "224.0.0.81", "8848", "1",
                                            "default"]
    assert row(lines, "backup").split() == ["backup", "sync0", "5", "default", "default",
                                            "default", "1400", "1h00m"]
    sysctls = row(lines, "Sysctls:")
    assert "sync_threshold=3 50" in sysctls and "sloppy_tcp=1" in sysctls
    assert "expire_nodest_conn" not in sysctls            # not available: left out
    assert row(lines, "Timeouts:") == "Timeouts: tcp 900s  tcpfin 120s  udp 300s"
    assert row(lines, "Check engine:") == ("Check engine: pid 1, up 2h00m, 5 registrations, "
                                           "3 healthy, 2 down, 12345 checks, 17 failures")
    start = lines.index(row(lines, "Issues ("))
    issue_lines = lines[start + 1:]
    assert len(issue_lines) == int(re.search(r"\((\d+)\)", lines[start]).group(1))
    assert any("'corrupt': not valid JSON" in line for line in issue_lines)
    assert any("tcp 10.0.0.1:443 is not in the IPVS table" in line for line in issue_lines)


def test_health_error_shown_and_dead_engine(kernel):
    record = health(WEB_KEY, "10.0.1.1", 80, error="real server 10.0.1.1:80: busy")
    state = StateView(records={"health": {"rs1": record}, "engine": {"status": {"pid": 4242}}})
    lines = text(build(kernel, state, NOW, alive=lambda pid: False)).splitlines()
    assert "tcp: connected; error: real server 10.0.1.1:80: busy" in row(lines, "  -> 10.0.1.1")
    assert row(lines, "Check engine:") == "Check engine: not running (last pid 4242)"


def test_not_loaded_and_empty_table():
    out = text(build(KernelView(loaded=False), StateView(), NOW))
    assert "IPVS is not loaded in this kernel" in out
    assert "VIRTUAL SERVICE" not in out and "Issues" not in out
    empty = KernelView(loaded=True, version="1.2.1", conn_tab_size=4096,
                       sysctls={"sync_threshold": [3, 50]})
    out = text(build(empty, StateView(), NOW))
    assert "No virtual services." in out and "Sync daemons: none running" in out


def test_table_helpers():
    assert render(["A", "BB"], [["xxx", "1"], ["y"]], ["<", ">"]) == \
        ["A    BB", "xxx   1", "y"]
    assert [si(v) for v in (0, 999, 1000, 1499, 123456, 1_000_000, 5 * 10**12, None)] == \
        ["0", "999", "1.0K", "1.5K", "123K", "1.0M", "5.0T", "-"]
    assert [duration(v) for v in (None, -3, 5, 65, 3600 + 120, 86400 * 2 + 7200)] == \
        ["-", "0s", "5s", "1m05s", "1h02m", "2d02h"]
    assert [latency(v) for v in (None, 0.0004, 0.0123, 1.5)] == ["-", "0.4ms", "12ms", "1.50s"]


# ---- the command, with the kernel and state readers replaced ------------------------------

@pytest.fixture
def fake_node(monkeypatch, kernel, tmp_path):
    monkeypatch.setattr(collect, "read_kernel", lambda: kernel)
    monkeypatch.setenv("LVSOCF_STATE_DIR", str(tmp_path))
    return tmp_path


def test_run_text_and_json(fake_node, capsys):
    assert status.run([]) == 0
    out = capsys.readouterr().out
    assert "tcp 10.0.0.1:80" in out and "Sync daemons" not in out and "SYNC DAEMON" in out
    assert status.run(["--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["state_dir"] == str(fake_node) and len(doc["services"]) == 3


def test_run_reads_corrupt_records_from_the_state_dir(fake_node, capsys):
    from lvsocf import state
    state.write("health", "web-rs1", health(WEB_KEY, "10.0.1.1", 80, engine_pid=None))
    (fake_node / "health" / "bad.json").write_text("{not json")
    (fake_node / "health" / "binary.json").write_bytes(b"\xff\xfe")
    (fake_node / "health" / "list.json").write_text("[1, 2]")
    assert status.run(["--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    kinds = {i["record"]: i["kind"] for i in doc["issues"]}
    assert kinds["health/bad"] == "unreadable_record"
    assert kinds["health/binary"] == "unreadable_record"
    assert kinds["health/list"] == "malformed_record"
    rs1 = doc["services"][0]["real_servers"][0]
    assert rs1["health"]["state"] == "up" and rs1["resource"] == "web-rs1"


def test_run_kernel_unreadable_exits_1(monkeypatch, capsys):
    def denied():
        raise collect.CollectError("permission denied: reading the IPVS table needs "
                                   "CAP_NET_ADMIN (run as root)")
    monkeypatch.setattr(collect, "read_kernel", denied)
    assert status.run([]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ("lvsocf status: permission denied: reading the IPVS table needs "
                            "CAP_NET_ADMIN (run as root)\n")


@pytest.mark.parametrize("argv", [["--watch", "0"], ["--watch", "abc"], ["--bogus"], ["x"]])
def test_usage_errors(argv, capsys):
    assert status.run(argv) == 2
    assert "usage: lvsocf status" in capsys.readouterr().err


class FakeTty(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


@pytest.mark.parametrize("tty", [True, False])
def test_watch_refreshes_until_ctrl_c(fake_node, monkeypatch, tty):
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 3:
            raise KeyboardInterrupt
    monkeypatch.setattr(status.time, "sleep", sleep)
    monkeypatch.setenv("COLUMNS", "50")
    out = FakeTty(tty)
    assert status.run(["--watch", "0.5"], out=out) == 0
    text_out = out.getvalue()
    assert sleeps == [0.5, 0.5, 0.5]
    assert text_out.count("Every 0.5s: lvsocf status") == 3
    assert text_out.count("\033[H\033[2J") == (3 if tty else 0)
    assert "\033" not in text_out or tty
    widest = max(len(line) for line in text_out.splitlines())
    assert widest <= 50 if tty else widest > 100


def test_watch_json_lines(fake_node, monkeypatch):
    calls = []

    def sleep(seconds):
        calls.append(seconds)
        if len(calls) == 2:
            raise KeyboardInterrupt
    monkeypatch.setattr(status.time, "sleep", sleep)
    out = FakeTty(True)
    assert status.run(["--watch", "--json"], out=out) == 0
    docs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(docs) == 2 and calls == [2.0, 2.0] and "\033" not in out.getvalue()


def test_watch_keeps_going_when_the_kernel_read_fails(monkeypatch):
    def denied():
        raise collect.CollectError("permission denied")
    monkeypatch.setattr(collect, "read_kernel", denied)
    calls = []

    def sleep(seconds):
        calls.append(seconds)
        if len(calls) == 2:
            raise KeyboardInterrupt
    monkeypatch.setattr(status.time, "sleep", sleep)
    out = FakeTty(False)
    assert status.run(["--watch", "1"], out=out) == 0
    assert out.getvalue().count("lvsocf status: permission denied") == 2


def test_engine_with_workers_says_how_many():
    from lvsocf.cli.records import parse_engine
    from lvsocf.cli.render import _engine_lines

    raw = {"pid": 7, "registrations": 4, "workers": [{"pid": 8}, {"pid": 9}]}
    engine = parse_engine(raw, alive=lambda pid: True)
    assert engine["workers"] == 2
    assert _engine_lines({"engine": engine, "time": 0}) == [
        "Check engine: pid 7 (2 workers), 4 registrations"]
    assert parse_engine({"pid": 7, "workers": "junk"}, alive=lambda pid: True)["workers"] is None
