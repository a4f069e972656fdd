"""Pure engine logic: records -> registrations, registry diffs, weight decisions, fallback
decisions, and where a restarted engine resumes."""
from __future__ import annotations

import json
import os

import pytest
from engine_harness import KEY, record, register
from hypothesis import given, settings
from hypothesis import strategies as st

from lvsocf import state
from lvsocf.checks.state import HealthState
from lvsocf.engine import health, registry, weights
from lvsocf.engine.fallbacks import FallbackHistory
from lvsocf.engine.weights import Verdict, desired_entry, plan_service
from lvsocf.ipvs import protocol
from lvsocf.ipvs.fallback import plan_fallback
from lvsocf.ipvs.model import RealServer, RealServerInfo, ServiceKey
from lvsocf.records import HealthRecord, RecordError, ServiceRecord

UP, DOWN, UNKNOWN = HealthState.UP, HealthState.DOWN, HealthState.UNKNOWN


def reg(name: str = "rs1", **kw) -> registry.Registration:
    return registry.parse(name, record(**kw))


# ---- registrations -----------------------------------------------------------------------

def test_parse_record():
    r = reg(address="10.0.1.1", port=8080, kind="http", options={"request": "/h"},
            weight=3, failure_action="remove", initial_weight=2)
    assert r.key == KEY and r.server == RealServer("10.0.1.1", 8080, "masq", 3)
    assert r.check.kind == "http" and r.check.option_map == {"request": "/h"}
    assert (r.failure_action, r.initial_weight) == ("remove", 2)
    assert r.target.address == "10.0.1.1" and r.target.port == 8080


def test_check_address_and_port_override_the_target():
    r = reg(address="10.0.1.1", port=80,
            options={"check_address": "10.9.9.9", "check_port": "8443"})
    assert (r.target.address, r.target.port) == ("10.9.9.9", 8443)
    fw = registry.parse("fw", record(key=ServiceKey(fwmark=5), port=0, method="gate"))
    assert fw.target.port is None and fw.key.fwmark == 5


@pytest.mark.parametrize("broken", [
    {"service": None}, {"real_server": {"address": "nope"}}, {"check": {}},
    {"failure_action": "explode"}, {"check": {"kind": "tcp", "interval": 0}},
    {"real_server": {"address": "10.0.1.1", "method": "dr"}},
])
def test_parse_rejects_malformed(broken):
    with pytest.raises((KeyError, TypeError, ValueError, AttributeError)):
        registry.parse("x", {**record(), **broken})


def test_digest_survives_the_json_round_trip():
    data = record(interval=1.5, options={"tls_verify": "false"})
    assert registry.digest(json.loads(json.dumps(data))) == registry.digest(data)
    assert registry.digest(record(weight=2)) != registry.digest(record(weight=3))


def test_diff():
    a, b, c = reg("a", port=1), reg("b", port=2), reg("c", port=3)
    b2 = reg("b", port=2, interval=9)
    c_moved = reg("c", port=33)
    d = registry.diff({"a": a, "b": b, "c": c}, {"b": b2, "c": c_moved, "e": reg("e")})
    assert [r.name for r in d.removed] == ["a", "c"]
    assert [r.name for r in d.added] == ["c", "e"] and d.added[0].server.port == 33
    assert d.changed == [(b, b2)]
    assert not registry.diff({"a": a}, {"a": reg("a", port=1)})


def test_record_dir_rereads_only_what_changed(state_dir):
    rd = registry.RecordDir()
    assert rd.changed() is False and rd.load() == {}     # no directory yet
    register("a", record(port=1))
    register("b", record(port=2))
    assert rd.changed()
    first = rd.load()
    assert set(first) == {"a", "b"} and not rd.changed()
    register("b", record(port=2, weight=9))
    (state_dir / "realservers" / "junk.json").write_text("{not json")
    assert rd.changed()
    second = rd.load()
    assert second["a"] is first["a"]             # unchanged file: not parsed again
    assert second["b"].server.weight == 9 and "junk" not in second
    os.unlink(state_dir / "realservers" / "a.json")
    assert set(rd.load()) == {"b"}


# ---- weight decisions ----------------------------------------------------------------------

@pytest.mark.parametrize("state_,action,actual,pending,expected", [
    (UP, "quiescent", None, False, 5),
    (UP, "remove", 0, False, 5),
    (HealthState.SOFT_DOWN, "quiescent", 5, False, 5),     # soft: still healthy
    (DOWN, "quiescent", 5, False, 0),
    (DOWN, "remove", 5, False, None),
    (HealthState.SOFT_UP, "remove", None, False, None),     # soft: still down
    (UNKNOWN, "quiescent", 7, False, 7),                    # keeps what the kernel has
    (UNKNOWN, "quiescent", None, True, 0),                  # new: added with weight 0
    (UNKNOWN, "quiescent", None, False, None),              # resumed and absent: left so
])
def test_desired_entry(state_, action, actual, pending, expected):
    r = reg(weight=5, failure_action=action)
    have = None if actual is None else RealServer("127.0.0.1", 80, "masq", actual)
    got = desired_entry(Verdict(r, state_, pending), have)
    assert (None if got is None else got.weight) == expected
    if got is not None:
        assert got.ident == r.server.ident and got.method == "masq"


def test_initial_weight_for_new_entries():
    r = reg(weight=5, initial_weight=5)
    assert desired_entry(Verdict(r, UNKNOWN, True), None).weight == 5


def test_unknown_entry_gets_its_settings_fixed_but_keeps_its_weight():
    r = reg(weight=5, method="masq")
    plan = plan_service(KEY, [Verdict(r, UNKNOWN)],
                        [RealServerInfo(RealServer("127.0.0.1", 80, "gate", 3))])
    assert [op.cmd for op in plan.ops] == [protocol.CMD_SET_DEST]
    assert plan.after == [RealServerInfo(RealServer("127.0.0.1", 80, "masq", 3))]


states = st.sampled_from([UP, DOWN, UNKNOWN])


@settings(deadline=None)      # the machine is shared: wall-clock deadlines only flake
@given(st.lists(st.tuples(st.integers(1, 6), states, st.booleans(), st.booleans()),
                unique_by=lambda t: t[0]),
       st.dictionaries(st.integers(1, 9), st.integers(0, 4)))
def test_plan_only_touches_registered_entries(regs, actual_weights):
    verdicts = [Verdict(reg(f"r{p}", port=p, failure_action="remove" if rm else "quiescent"),
                        s, pending) for p, s, rm, pending in regs]
    actual = [RealServerInfo(RealServer("127.0.0.1", p, "masq", w))
              for p, w in actual_weights.items()]
    result = plan_service(KEY, verdicts, actual)
    plan = result.ops
    registered = {f"127.0.0.1:{p}" for p, *_ in regs}
    assert {op.what.split()[2] for op in plan} <= registered
    # `after` is the table the ops lead to: every unregistered entry as it was
    after = {i.real_server.ident: i.real_server.weight for i in result.after}
    for p, w in actual_weights.items():
        if p not in by_port_of(regs):
            assert after[("127.0.0.1", p)] == w
    for v in verdicts:
        entry = desired_entry(v, next((i.real_server for i in actual
                                       if i.real_server.ident == v.registration.server.ident),
                                      None))
        assert after.get(v.registration.server.ident) == (entry.weight if entry else None)
    by_port = {p: (s, rm, pending) for p, s, rm, pending in regs}
    for op in plan:
        port = int(op.what.split()[2].split(":")[1])
        s, rm, pending = by_port[port]
        if s is UNKNOWN:      # no verdict: never a weight change, never a removal
            assert op.cmd == protocol.CMD_NEW_DEST and pending and port not in actual_weights
        if op.cmd == protocol.CMD_DEL_DEST:
            assert s is DOWN and rm


def by_port_of(regs) -> set[int]:
    return {p for p, *_ in regs}


def test_fallback_decisions():
    fb = RealServer("10.0.9.9", 8080, "masq", 1)
    a = RealServerInfo(RealServer("10.0.1.1", 80, "masq", 5))
    a0 = RealServerInfo(RealServer("10.0.1.1", 80, "masq", 0))
    fbi = RealServerInfo(fb)
    assert [op.cmd for op in plan_fallback(KEY, fb, [a0])] == [protocol.CMD_NEW_DEST]
    assert plan_fallback(KEY, fb, [a0, fbi]) == []
    assert [op.cmd for op in plan_fallback(KEY, fb, [a, fbi])] == [protocol.CMD_DEL_DEST]
    assert plan_fallback(KEY, fb, [a]) == []
    assert plan_fallback(KEY, None, [a0]) == []


def test_a_retired_fallback_goes_out_unless_registered_or_kept():
    old, new = RealServer("10.0.9.9", 8080, "masq", 1), RealServer("10.0.9.8", 8080, "masq", 1)
    a0 = RealServerInfo(RealServer("10.0.1.1", 80, "masq", 0))
    oldi = RealServerInfo(old)
    swap = plan_fallback(KEY, new, [a0, oldi], retired=old)
    assert [(op.cmd, op.server.ident if op.server else None) for op in swap] == [
        (protocol.CMD_DEL_DEST, old.ident), (protocol.CMD_NEW_DEST, new.ident)]
    removed = plan_fallback(KEY, None, [a0, oldi], retired=old)
    assert [op.cmd for op in removed] == [protocol.CMD_DEL_DEST]
    assert plan_fallback(KEY, None, [a0, oldi], retired=old, owned={old.ident}) == []
    assert plan_fallback(KEY, old, [a0, oldi], retired=old) == []
    assert plan_fallback(KEY, None, [a0], retired=old) == []


def test_fallback_history_remembers_until_taken_out():
    old, new = RealServer("10.0.9.9", 8080, "masq", 1), RealServer("10.0.9.8", 8080, "masq", 1)
    history = FallbackHistory()
    assert history.note(KEY, old) is None
    assert history.note(KEY, new) == old
    assert history.note(KEY, new) == old           # a retry still knows it
    history.taken_out(KEY)
    assert history.note(KEY, new) is None
    assert history.note(KEY, None) == new and KEY in history.keys()
    assert history.note(KEY, new) is None           # changed back before it went out


def test_fallbacks_from_service_records(state_dir):
    ServiceRecord(KEY, RealServer("10.0.9.9", 8080, "gate")).write("web")
    ServiceRecord(ServiceKey(fwmark=3)).write("plain")
    state.write("services", "broken", {"fallback": {"address": "x"}})
    records = ServiceRecord.all()
    assert set(records) == {"web", "plain"}              # the unusable one is left out
    assert weights.fallbacks(records.values()) == {KEY: RealServer("10.0.9.9", 8080, "gate", 1)}


# ---- resuming ------------------------------------------------------------------------------

def published(r: registry.Registration, state_: str, weight: int | None) -> HealthRecord:
    return health.build(r, state=HealthState(state_), since=123.0, last_check=124.0,
                        latency=0.001, detail="", weight=weight, engine_pid=1, error=None)


@pytest.mark.parametrize("state_,weight,hard,pending", [
    ("up", 5, UP, False), ("soft_down", 5, UP, False), ("down", 0, DOWN, False),
    ("soft_up", None, DOWN, False), ("down", None, DOWN, False),
    ("unknown", 0, UNKNOWN, False), ("unknown", None, UNKNOWN, True),
])
def test_resume_from_health(state_, weight, hard, pending):
    r = reg()
    got = health.resume_from(r, published(r, state_, weight))
    assert (got.state, got.pending_add, got.since) == (hard, pending, 123.0)


def test_resume_ignores_records_of_another_real_server():
    r = reg(port=80)
    assert health.resume_from(r, published(reg(port=81), "up", 5)).state is UNKNOWN
    assert health.resume_from(r, None) == health.Resume(UNKNOWN, None, True)
    with pytest.raises(RecordError):
        HealthRecord.from_json({**published(r, "up", 5).to_json(), "state": "bogus"})


def test_health_record_format():
    r = reg(weight=5)
    h = published(r, "soft_down", 5).to_json()
    assert HealthRecord.from_json(json.loads(json.dumps(h))) == published(r, "soft_down", 5)
    assert {"service", "address", "port", "check", "state", "healthy", "since", "last_check",
            "latency", "detail", "weight", "configured_weight", "engine_pid"} <= set(h)
    assert h["healthy"] is True and h["registration"] == r.digest
    assert "options" not in json.dumps(h)
