"""lvsocf.records: every record kind round-trips through its JSON form, and any JSON value
either gives a record or RecordError (never another exception)."""
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lvsocf.ipvs.model import RealServer, ServiceKey
from lvsocf.records import (
    CheckSpec,
    HealthRecord,
    RealServerRecord,
    RecordError,
    ServiceRecord,
    key_from_json,
    key_to_json,
)

KEYS = [ServiceKey("tcp", "10.0.0.1", 80), ServiceKey("udp", "2001:db8::1", 53),
        ServiceKey("sctp", "10.0.0.2", 5060), ServiceKey(fwmark=7, family="inet6")]


@pytest.mark.parametrize("key", KEYS)
def test_keys_round_trip_canonical(key):
    assert key_from_json(json.loads(json.dumps(key_to_json(key)))) == key
    loose = {**key_to_json(key), "address": "2001:0db8:0::1"} if key.family == "inet6" \
        and not key.fwmark else key_to_json(key)
    assert key_from_json(loose) == key


@pytest.mark.parametrize("fallback", [None, RealServer("10.0.9.9", 8080, "masq"),
                                      RealServer("2001:db8::9", 0, "gate")])
def test_service_record_round_trip(fallback):
    record = ServiceRecord(KEYS[0], fallback)
    assert ServiceRecord.from_json(json.loads(json.dumps(record.to_json()))) == record


def test_service_records_in_the_state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LVSOCF_STATE_DIR", str(tmp_path))
    ServiceRecord(KEYS[1]).write("dns")
    (tmp_path / "services" / "bad.json").write_text('{"key": {"protocol": "icmp"}}')
    assert ServiceRecord.read("dns") == ServiceRecord(KEYS[1])
    assert ServiceRecord.read("bad") is None and ServiceRecord.read("none") is None
    assert set(ServiceRecord.all()) == {"dns"}


REAL_SERVERS = [
    RealServerRecord(KEYS[0], RealServer("10.0.1.1", 8080, "masq", 3, 100, 50),
                     CheckSpec("http", (("check_port", 8443), ("request", "/h"),
                                        ("tls_verify", False)), 1.5, 0.5, 1, 4),
                     "remove", 2, 10.0),
    RealServerRecord(KEYS[3], RealServer("2001:db8::2", 0, "gate", 0), CheckSpec("none"),
                     draining=1_700_000_000.25),
]


@pytest.mark.parametrize("record", REAL_SERVERS)
def test_real_server_record_round_trip(record):
    assert RealServerRecord.from_json(json.loads(json.dumps(record.to_json()))) == record


def test_check_options_keep_their_json_types():
    """Booleans and numbers stay JSON booleans and numbers (not "false", not "8443")."""
    text = json.dumps(REAL_SERVERS[0].to_json())
    raw = json.loads(text)
    assert raw["check"]["options"] == {"check_port": 8443, "request": "/h", "tls_verify": False}
    back = RealServerRecord.from_json(raw)
    assert back.check.option_map["tls_verify"] is False
    assert type(back.check.option_map["check_port"]) is int
    assert json.dumps(back.to_json()) == text


def test_old_text_options_are_read_as_they_are():
    """A record from before typed options: its text is kept (the check converts it, and the
    digest the agent that wrote it expects stays the same)."""
    old = {**REAL_SERVERS[0].to_json(), "check": {"kind": "http", "options": {
        "tls_verify": "false", "check_port": "8443", "receive": None}}}
    check = RealServerRecord.from_json(old).check
    assert check.option_map == {"tls_verify": "false", "check_port": "8443"}


@pytest.mark.parametrize("value", [[1], {"a": 1}, float("nan")])
def test_a_check_option_that_is_no_json_scalar_is_refused(value):
    bad = {**REAL_SERVERS[0].to_json(), "check": {"kind": "http", "options": {"x": value}}}
    with pytest.raises(RecordError, match="check option x"):
        RealServerRecord.from_json(bad)


@pytest.mark.parametrize("field,value,reason", [
    ("check", {"kind": "tcp", "interval": 0}, "interval"),
    ("check", {"kind": "tcp", "rise": True}, "rise"),
    ("check", {"interval": 1}, "check kind"),
    ("real_server", {"address": "10.0.1.1", "method": "dr"}, "method"),
    ("real_server", {"address": "nope"}, "real_server"),
    ("failure_action", "explode", "failure_action"),
    ("draining", "soon", "draining"),
    ("initial_weight", 1.5, "initial_weight"),
])
def test_real_server_record_names_the_bad_field(field, value, reason):
    with pytest.raises(RecordError, match=reason):
        RealServerRecord.from_json({**REAL_SERVERS[0].to_json(), field: value})


def test_health_record_round_trip_and_tolerance():
    h = HealthRecord(KEYS[1], "2001:db8::10", 53, "soft_down", True, check="dns", since=1.0,
                     weight=2, engine_pid=7, registration="abc", error="x")
    assert HealthRecord.from_json(json.loads(json.dumps(h.to_json()))) == h
    loose = HealthRecord.from_json({**h.to_json(), "weight": "2", "since": True,
                                    "check": {"kind": "dns"}, "healthy": None})
    assert (loose.weight, loose.since, loose.check, loose.healthy) == (None, None, "dns", True)
    for field, value in (("state", "sideways"), ("address", "ten.zero"), ("port", "53")):
        with pytest.raises(RecordError, match=field):
            HealthRecord.from_json({**h.to_json(), field: value})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["key", "fallback", "protocol", "address", "port", "fwmark", "family",
                         "method", "x", "service", "real_server", "check", "kind", "options",
                         "interval", "rise", "draining", "state", "weight"]), inner,
        max_size=6), max_leaves=20)


@pytest.mark.parametrize("kind", [ServiceRecord, RealServerRecord, HealthRecord])
@given(raw=json_values)
def test_any_json_is_a_record_or_record_error(kind, raw):
    try:
        record = kind.from_json(raw)
    except RecordError:
        return
    assert kind.from_json(record.to_json()) == record


def test_sync_record_round_trip_and_errors():
    from lvsocf.records import SyncRecord
    rec = SyncRecord(backup_since=1700000000.5, promoted=True, warmup=120.0,
                     interface="eth1", syncid=7, promoted_since=1700000100.0)
    assert SyncRecord.from_json(json.loads(json.dumps(rec.to_json()))) == rec
    assert SyncRecord.from_json({"backup_since": 5}) == SyncRecord(backup_since=5.0)
    for bad, field_ in (({"promoted": True}, "backup_since"),
                        ({"backup_since": 1, "promoted": "yes"}, "promoted"),
                        ({"backup_since": 1, "syncid": 1.5}, "syncid"),
                        ({"backup_since": float("nan")}, "backup_since"),
                        ({"backup_since": 1, "interface": 3}, "interface"), ([], "object")):
        with pytest.raises(RecordError, match=field_):
            SyncRecord.from_json(bad)
