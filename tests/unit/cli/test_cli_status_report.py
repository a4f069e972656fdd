"""`lvsocf status` data: the kernel view joined with state records, and every bad record
reported as an issue instead of crashing."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from status_fixtures import DEAD_PID, NOW, WEB, WEB_KEY, health, make_kernel, rs_info, rs_record

from lvsocf.cli.records import pid_alive, service_key
from lvsocf.cli.render import text
from lvsocf.cli.report import KernelView, StateView, build


def alive(pid):
    return pid == 1


def doc_for(kernel, records):
    return build(kernel, records, NOW, alive=alive)


def rows_by_address(doc, name):
    svc = next(s for s in doc["services"] if s["name"] == name)
    return {f"{r['address']}:{r['port']}": r for r in svc["real_servers"]}


def issues(doc, kind=None):
    return [i for i in doc["issues"] if kind is None or i["kind"] == kind]


def test_document_is_json_with_stable_top_level_keys(kernel, records):
    doc = doc_for(kernel, records)
    assert set(doc) == {"schema", "time", "host", "ipvs", "services", "daemons",
                        "sync_records", "sysctls", "timeouts", "state_dir", "issues", "engine"}
    assert doc["engine"] == {"pid": 1, "running": True, "started": NOW - 7200, "at": NOW - 1,
                             "registrations": 5, "healthy": 3, "down": 2, "checks": 12345,
                             "failures": 17, "workers": None}
    assert json.loads(json.dumps(doc)) == doc
    assert doc["schema"] == 1 and doc["time"] == NOW
    assert doc["ipvs"] == {"loaded": True, "version": "1.2.1", "conn_tab_size": 4096}
    assert doc["timeouts"] == {"tcp": 900, "tcp_fin": 120, "udp": 300}
    assert doc["sysctls"]["sync_threshold"] == [3, 50]
    assert [d["state"] for d in doc["daemons"]] == ["master", "backup"]
    assert doc["daemons"][0] == {"state": "master", "interface": "sync0", "syncid": 5,
                                 "maxlen": 0, "mcast_group": "224.0.0.81", "mcast_port": 8848,
                                 "mcast_ttl": 1}


def test_service_entries_carry_kernel_values(kernel, records):
    doc = doc_for(kernel, records)
    web, dns6, mark = doc["services"]
    assert web["name"] == "tcp 10.0.0.1:80" and web["resource"] == "web"
    assert web["key"] == WEB_KEY
    assert (web["scheduler"], web["persistent"], web["netmask"]) == ("wlc", 300,
                                                                     "255.255.255.0")
    assert web["stats"]["conns"] == 1234567 and web["stats"]["outbps"] == 1_500_000
    assert (web["active_conns"], web["inactive_conns"]) == (7, 2)   # summed over real servers
    assert dns6["key"]["family"] == "inet6" and dns6["one_packet"] is True
    assert dns6["sched_flags"] == ["flag-1"]
    assert mark["key"] == {"protocol": None, "address": None, "port": 0, "fwmark": 7,
                           "family": "inet"}
    assert mark["sched_flags"] == ["sh-port"] and mark["resource"] is None


def test_real_server_joined_with_health(kernel, records):
    rows = rows_by_address(doc_for(kernel, records), "tcp 10.0.0.1:80")
    rs1 = rows["10.0.1.1:80"]
    assert (rs1["method"], rs1["weight"], rs1["active_conns"], rs1["inactive_conns"]) == \
        ("masq", 3, 7, 2)
    assert rs1["stats"]["conns"] == 1234000 and rs1["stats"]["cps"] == 2
    assert rs1["resource"] == "web-rs1" and rs1["failure_action"] == "quiescent"
    h = rs1["health"]
    assert (h["state"], h["healthy"], h["since"], h["latency"], h["detail"], h["check"]) == \
        ("up", True, NOW - 185, 0.0004, "connected", "tcp")
    assert h["engine_running"] is True
    rs2 = rows["10.0.1.2:80"]["health"]
    assert (rs2["state"], rs2["healthy"], rs2["weight"], rs2["configured_weight"]) == \
        ("down", False, 0, 3)


def test_fallback_server_is_marked_not_flagged(kernel, records):
    doc = doc_for(kernel, records)
    fb = rows_by_address(doc, "tcp 10.0.0.1:80")["127.0.0.1:8080"]
    assert fb["role"] == "fallback" and fb["health"] is None
    assert not any("127.0.0.1" in i["message"] for i in doc["issues"])


def test_record_for_real_server_no_longer_in_table(kernel, records):
    doc = doc_for(kernel, records)
    rows = rows_by_address(doc, "tcp 10.0.0.1:80")
    up_but_gone = rows["10.0.1.8:80"]
    assert up_but_gone["in_table"] is False and up_but_gone["weight"] is None
    assert up_but_gone["health"]["state"] == "up"
    not_in_table = {i["record"] for i in issues(doc, "not_in_table")}
    assert "health/web-rs8" in not_in_table and "realservers/web-rs5" in not_in_table
    # failure_action=remove and down: absent on purpose, shown but not an issue
    removed = rows["10.0.1.9:80"]
    assert removed["removed_by_failure_action"] is True and removed["in_table"] is False
    assert "health/web-rs9" not in not_in_table
    # records whose whole service is gone
    assert {"services/gone", "health/other-svc"} <= not_in_table


def test_kernel_entries_without_records(kernel, records):
    doc = doc_for(kernel, records)
    unmanaged = [i["message"] for i in issues(doc, "unmanaged")]
    assert any("-> 10.0.1.3:80" in m for m in unmanaged)          # in a managed service
    assert any(m.startswith("fwmark 7 (inet):") for m in unmanaged)  # a whole service
    rs3 = rows_by_address(doc, "tcp 10.0.0.1:80")["10.0.1.3:80"]
    assert rs3["resource"] is None and rs3["health"] is None
    no_health = issues(doc, "no_health")
    assert [i["record"] for i in no_health] == ["realservers/dns2"]


def test_corrupt_malformed_and_duplicate_records_become_issues(kernel, records):
    doc = doc_for(kernel, records)
    assert issues(doc, "unreadable_record")[0]["record"] == "health/corrupt"
    malformed = {i["record"]: i["message"] for i in issues(doc, "malformed_record")}
    assert set(malformed) == {"services/broken-svc", "health/bogus-state",
                              "health/not-a-dict", "health/bad-address"}
    assert "sideways" in malformed["health/bogus-state"]
    assert "icmp" in malformed["services/broken-svc"]
    dup = issues(doc, "duplicate_record")
    assert len(dup) == 1 and "web-rs1-copy" in dup[0]["message"]


def test_stale_engine_and_weight_mismatch(kernel, records):
    doc = doc_for(kernel, records)
    stale = issues(doc, "engine_not_running")
    assert len(stale) == 1 and str(DEAD_PID) in stale[0]["message"]
    dns = rows_by_address(doc, "udp [2001:db8::1]:53")["2001:db8::10:53"]
    assert dns["health"]["engine_running"] is False and dns["health"]["check"] == "dns"
    assert not issues(doc, "weight_mismatch")
    records.records["health"]["web-rs1"]["weight"] = 5
    mismatch = issues(doc_for(kernel, records), "weight_mismatch")
    assert len(mismatch) == 1 and "applied weight 5, the kernel has 3" in \
        mismatch[0]["message"]


@pytest.mark.parametrize("bad", [
    None, 7, "text", [], {}, {"service": None}, {"service": "x", "address": "10.0.0.1"},
    {"service": WEB_KEY}, {"service": WEB_KEY, "address": "10.0.0.1", "port": "80"},
    {"service": WEB_KEY, "address": "10.0.0.1", "port": 80, "state": None},
    {"service": {**WEB_KEY, "family": "ipx"}, "address": "10.0.0.1", "port": 80},
    {"service": {**WEB_KEY, "address": 10}, "address": "10.0.0.1", "port": 80},
    {"service": {**WEB_KEY, "port": True}, "address": "10.0.0.1", "port": 80},
])
def test_any_malformed_health_record_is_an_issue_never_a_crash(kernel, bad):
    doc = build(kernel, StateView(records={"health": {"x": bad}}), NOW, alive=alive)
    assert [i["record"] for i in issues(doc, "malformed_record")] == ["health/x"]


def test_wrongly_typed_optional_fields_become_null(kernel):
    record = health(WEB_KEY, "10.0.1.1", 80, since="yesterday", latency=None, detail=5,
                    weight="3", engine_pid="1", healthy="yes")
    doc = build(kernel, StateView(records={"health": {"x": record}}), NOW, alive=alive)
    h = rows_by_address(doc, "tcp 10.0.0.1:80")["10.0.1.1:80"]["health"]
    assert h["since"] is None and h["latency"] is None and h["detail"] is None
    assert h["weight"] is None and h["engine_pid"] is None and h["engine_running"] is None
    assert h["healthy"] is True          # derived from the state


def test_fwmark_and_ipv6_keys_match_whatever_the_record_spells():
    assert service_key({"fwmark": 7, "protocol": "udp", "address": None}) == \
        service_key({"fwmark": 7})
    assert service_key({"protocol": "udp", "address": "2001:DB8:0::1", "port": 53}).address \
        == "2001:db8::1"


def test_ipvs_not_loaded_with_records_left():
    state = StateView(records={"health": {"web-rs1": health(WEB_KEY, "10.0.1.1", 80)},
                               "sync": {"sync": {"backup_since": NOW}}})
    doc = build(KernelView(loaded=False), state, NOW, alive=alive)
    assert doc["ipvs"]["loaded"] is False and doc["services"] == []
    assert doc["timeouts"] is None
    assert [i["kind"] for i in doc["issues"]] == ["not_in_table"]


def test_no_records_at_all_means_no_issues():
    """A director managed by hand (no lvsocf records): nothing to complain about."""
    kernel = KernelView(loaded=True, version="1.2.1", conn_tab_size=4096,
                        table=[(rs_info_service(), [rs_info("10.0.1.1", 80)])])
    doc = build(kernel, StateView(), NOW, alive=alive)
    assert doc["issues"] == []
    assert doc["services"][0]["real_servers"][0]["resource"] is None


def rs_info_service():
    from lvsocf.ipvs.model import Service, ServiceInfo
    return ServiceInfo(Service(WEB))


def test_engine_fields_error_and_failure_action_from_the_health_record(kernel):
    record = health(WEB_KEY, "10.0.1.9", 80, "down", healthy=False, weight=None,
                    failure_action="remove", error="real server 10.0.1.9:80: busy",
                    registration="abc")
    state = StateView(records={"health": {"x": record}, "engine": {"status": "garbage"}})
    doc = build(kernel, state, NOW, alive=alive)
    row = rows_by_address(doc, "tcp 10.0.0.1:80")["10.0.1.9:80"]
    assert row["failure_action"] == "remove" and row["removed_by_failure_action"] is True
    assert row["health"]["error"] == "real server 10.0.1.9:80: busy"
    assert doc["engine"] is None
    assert [i["record"] for i in issues(doc, "malformed_record")] == ["engine/status"]
    dead = build(kernel, StateView(records={"engine": {"status": {"pid": DEAD_PID}}}), NOW)
    assert dead["engine"]["running"] is False and dead["engine"]["checks"] is None


def test_sync_record_without_daemon():
    kernel = KernelView(loaded=True, version="1.2.1", conn_tab_size=4096)
    records = {"s": {"backup_since": NOW}, "t": [1], "u": {"backup_since": "yesterday"}}
    doc = build(kernel, StateView(records={"sync": records}), NOW, alive=alive)
    assert [i["kind"] for i in doc["issues"]] == ["malformed_record", "malformed_record",
                                                   "no_daemon"]
    assert "backup_since" in doc["issues"][1]["message"]
    assert doc["sync_records"] == {"s": {"backup_since": NOW}}


def test_state_directory_error_is_an_issue():
    doc = build(KernelView(loaded=False), StateView(directory_error="cannot read: denied"),
                NOW, alive=alive)
    assert doc["issues"] == [{"kind": "state_unreadable", "record": None,
                              "message": "cannot read: denied"}]


def test_removed_real_server_still_up_is_an_issue():
    """failure_action=remove explains an absent real server only while it is unhealthy."""
    kernel = KernelView(loaded=True, table=[(rs_info_service(), [])])
    state = StateView(records={"realservers": {"r": rs_record(WEB_KEY, "10.0.1.1", 80,
                                                              "remove")},
                               "health": {"r": health(WEB_KEY, "10.0.1.1", 80, "up")}})
    doc = build(kernel, state, NOW, alive=alive)
    assert [i["kind"] for i in doc["issues"]] == ["not_in_table"]


def test_pid_alive():
    import os
    assert pid_alive(os.getpid()) is True
    assert pid_alive(DEAD_PID) is False
    assert pid_alive(2 ** 40) is False


# ---- any JSON at all, never a crash ---------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.sampled_from(["10.0.1.1", "2001:db8::1", "up", "down", "tcp", "inet6", "", "x"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["service", "address", "port", "state", "fwmark", "family", "protocol",
                         "key", "fallback", "real_server", "weight", "engine_pid", "since",
                         "check", "healthy", "failure_action", "pid", "error", "detail"]),
        inner, max_size=8),
    max_leaves=20)
ALMOST = st.fixed_dictionaries({
    "service": st.one_of(JSON, st.just(WEB_KEY)), "address": st.one_of(JSON, st.just("10.0.1.1")),
    "port": st.one_of(JSON, st.just(80)), "state": st.one_of(JSON, st.just("up"))},
    optional={"engine_pid": JSON, "since": JSON, "weight": JSON, "check": JSON, "error": JSON})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["services", "realservers", "health", "sync", "engine"]),
                       st.dictionaries(st.sampled_from(["a", "b", "status"]),
                                       st.one_of(JSON, ALMOST), max_size=3), max_size=5))
def test_arbitrary_records_never_crash(records):
    doc = build(make_kernel(), StateView(records=records), NOW, alive=alive)
    json.dumps(doc)
    assert "VIRTUAL SERVICE" in text(doc)
