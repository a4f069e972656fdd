"""lvsocf.records: every record kind round-trips through its JSON form, and any JSON value
either gives a record or RecordError (never another exception)."""
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lvsocf.ipvs.model import RealServer, ServiceKey
from lvsocf.records import RecordError, ServiceRecord, key_from_json, key_to_json

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


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["key", "fallback", "protocol", "address", "port", "fwmark", "family",
                         "method", "x"]), inner, max_size=6), max_leaves=20)


@given(json_values)
def test_any_json_is_a_record_or_record_error(raw):
    try:
        record = ServiceRecord.from_json(raw)
    except RecordError:
        return
    assert ServiceRecord.from_json(record.to_json()) == record
