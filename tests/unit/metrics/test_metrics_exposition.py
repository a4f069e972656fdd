"""The Prometheus text format of lvsocf's health metrics, read back with prometheus_client's
own parser (what Prometheus and node_exporter's textfile collector accept)."""
from __future__ import annotations

import math
import os
import stat

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from lvsocf import state
from lvsocf.ipvs.model import ServiceKey
from lvsocf.metrics import exposition, families, files
from lvsocf.metrics.exposition import Family
from lvsocf.records import HealthRecord

KEY = ServiceKey("tcp", "10.0.0.1", 80)


def parse(text: str) -> dict[str, list]:
    """name -> [(labels, value)], every family's samples (counters lose _total in the family
    name, not in the sample name)."""
    out: dict[str, list] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


def health(state_: str = "up", **kw) -> HealthRecord:
    base = dict(check="http", since=1.0, last_check=1700000000.5, latency=0.0123,
                detail="HTTP 200", weight=5, configured_weight=5, engine_pid=42,
                registration="d", failure_action="quiescent", error=None,
                consecutive_failures=0, flaps=3)
    base.update(kw)
    return HealthRecord(KEY, kw.pop("address", "192.168.1.2"), 80, state_,
                        state_ in ("up", "soft_down"), **{k: v for k, v in base.items()
                                                          if k != "address"})


STATUS = {"pid": 42, "at": 1700000010.0, "registrations": 2, "checks": 100, "failures": 7,
          "lateness_p50": 0.001, "lateness_p95": 0.02, "checks_per_second": 2.5,
          "interval_max": 5.0}


def test_real_server_and_engine_metrics_parse_back():
    records = {"web-rs1": health(), "web-rs2": health("soft_up", address="192.168.1.3",
                                                       weight=0, consecutive_failures=0,
                                                       flaps=1, latency=3.0)}
    text = families.exposition(records, STATUS, now=1700000012.0)
    got = parse(text)
    rs1 = {"service": "tcp:10.0.0.1:80", "real_server": "192.168.1.2:80", "resource": "web-rs1"}
    rs2 = {**rs1, "real_server": "192.168.1.3:80", "resource": "web-rs2"}
    states = {(lab["resource"], lab["state"]): v for lab, v in got["lvsocf_real_server_state"]}
    assert states == {("web-rs1", "up"): 1, ("web-rs1", "down"): 0, ("web-rs1", "unknown"): 0,
                      ("web-rs2", "up"): 0, ("web-rs2", "down"): 1, ("web-rs2", "unknown"): 0}
    assert (rs2, 1.0) in got["lvsocf_real_server_soft_state"]
    assert (rs1, 5.0) in got["lvsocf_real_server_weight"]
    assert (rs2, 0.0) in got["lvsocf_real_server_weight"]
    assert (rs2, 5.0) in got["lvsocf_real_server_configured_weight"]
    assert (rs1, 0.0123) in got["lvsocf_real_server_check_duration_seconds"]
    assert (rs1, 3.0) in got["lvsocf_real_server_flaps_total"]
    assert (rs1, 0.0) in got["lvsocf_real_server_consecutive_failures"]
    assert got["lvsocf_engine_checks_per_second"] == [({}, 2.5)]
    assert got["lvsocf_engine_checks_total"] == [({}, 100.0)]
    assert got["lvsocf_engine_cycle_age_seconds"] == [({}, 2.0)]
    assert got["lvsocf_engine_stale_after_seconds"] == [({}, 30.0)]
    assert ({"quantile": "0.95"}, 0.02) in got["lvsocf_engine_check_lateness_seconds"]
    # the textfile collector's rules: one HELP and TYPE per family, before its samples
    names = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")]
    assert len(names) == len(set(names))
    assert "# TYPE lvsocf_real_server_flaps_total counter" in text
    assert text.endswith("\n")


def test_no_entry_no_weight_sample_and_no_record_no_engine():
    text = families.exposition({"rs": health("unknown", weight=None, latency=None,
                                             last_check=None)}, None, now=0.0)
    got = parse(text)
    assert "lvsocf_real_server_weight" not in got
    assert "lvsocf_real_server_check_duration_seconds" not in got
    assert got["lvsocf_engine_status_present"] == [({}, 0.0)]
    assert ({"service": "tcp:10.0.0.1:80", "real_server": "192.168.1.2:80", "resource": "rs",
             "state": "unknown"}, 1.0) in got["lvsocf_real_server_state"]


def test_labels_of_ipv6_and_fwmark_services():
    assert families.service_label(ServiceKey("udp", "2001:db8::1", 53)) == \
        "udp:[2001:db8::1]:53"
    assert families.service_label(ServiceKey(fwmark=5, family="inet6")) == "fwmark:5:inet6"
    assert families.real_server_label("2001:db8::2", 8080) == "[2001:db8::2]:8080"


def test_check_options_never_reach_the_metrics():
    """Only the service, the address and the resource name label a series: not the detail,
    the error or any check option (an HTTP password travels in the realservers record)."""
    text = families.exposition({"rs": health(detail="user:s3cret", error="s3cret")}, STATUS,
                               now=0.0)
    assert "s3cret" not in text


def test_escaping_of_label_values_and_help():
    fam = Family("m", "gauge", 'back\\slash\nnewline "q"')
    fam.add({"a": 'x\\y"z\nw'}, 1)
    text = exposition.render([fam])
    assert 'm{a="x\\\\y\\"z\\nw"} 1' in text
    assert "# HELP m back\\\\slash\\nnewline \"q\"" in text
    assert parse(text)["m"] == [({"a": 'x\\y"z\nw'}, 1.0)]


@pytest.mark.parametrize(("value", "text"), [(float("inf"), "+Inf"), (float("-inf"), "-Inf"),
                                             (float("nan"), "NaN"), (3, "3"), (True, "1"),
                                             (0.1, "0.1")])
def test_values(value, text):
    assert exposition.format_value(value) == text


def test_bad_names_are_refused():
    with pytest.raises(ValueError):
        Family("bad-name", "gauge", "")
    fam = Family("m", "gauge", "")
    fam.add({"__reserved": "x"}, 1)
    with pytest.raises(ValueError):
        exposition.render([fam])


hostile = st.text(st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ['"', "\\", "\n", '\\"', "}", "{a=\"b\"}", "\\n", " # HELP x", "\x00", "\u2028", "é"])


@given(resource=hostile, detail=hostile, value=st.floats(allow_nan=False) | st.integers(
    min_value=-2**53, max_value=2**53))
def test_hostile_label_values_parse_back_exactly(resource, detail, value):
    fam = Family("lvsocf_x", "gauge", detail)
    fam.add({"resource": resource, "other": detail}, value)
    got = parse(exposition.render([fam]))
    [(labels, parsed)] = got["lvsocf_x"]
    assert labels == {"resource": resource, "other": detail}
    assert parsed == float(value) or (math.isinf(parsed) and math.isinf(value))


@given(resource=hostile)
def test_hostile_resource_names_in_real_server_metrics(resource):
    text = families.exposition({resource: health()}, STATUS, now=1700000012.0)
    got = parse(text)
    assert {lab["resource"] for lab, _ in got["lvsocf_real_server_weight"]} == {resource}


def test_lone_surrogates_become_valid_utf8():
    fam = Family("m", "gauge", "")
    fam.add({"a": "x\ud800y"}, 1)
    text = exposition.render([fam])
    text.encode("utf-8")
    assert parse(text)["m"] == [({"a": "x?y"}, 1.0)]


def test_from_state_reads_the_records(tmp_path, monkeypatch):
    monkeypatch.setenv("LVSOCF_STATE_DIR", str(tmp_path))
    health().write("web-rs1")
    state.write("engine", "status", STATUS)
    got = parse(families.from_state(1700000012.0))
    assert got["lvsocf_real_server_weight"][0][0]["resource"] == "web-rs1"
    assert got["lvsocf_engine_registrations"] == [({}, 2.0)]


def test_write_atomic_mode_and_no_leftovers(tmp_path):
    target = tmp_path / "lvsocf.prom"
    old = os.umask(0o077)
    try:
        files.write_atomic(target, "a 1\n")
        files.write_atomic(target, "a 2\n")
    finally:
        os.umask(old)
    assert target.read_text() == "a 2\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["lvsocf.prom"]


def test_write_atomic_failure_leaves_the_old_file(tmp_path):
    target = tmp_path / "missing-dir" / "lvsocf.prom"
    with pytest.raises(OSError):
        files.write_atomic(target, "a 1\n")


@pytest.mark.parametrize(("path", "interval", "expected"), [
    (None, None, None), ("", "5", None),
    ("/var/lib/prometheus/node-exporter/lvsocf.prom", None,
     files.Settings(files.Path("/var/lib/prometheus/node-exporter/lvsocf.prom"), 15.0)),
    ("/x/y.prom", "2.5", files.Settings(files.Path("/x/y.prom"), 2.5))])
def test_settings(path, interval, expected):
    assert files.settings(path, interval) == expected


@pytest.mark.parametrize(("path", "interval"), [("relative.prom", None), ("/x/y.txt", None),
                                                ("/x/y.prom", "0.5"), ("/x/y.prom", "nan"),
                                                ("/x/y.prom", "soon")])
def test_bad_settings(path, interval):
    with pytest.raises(ValueError):
        files.settings(path, interval)
