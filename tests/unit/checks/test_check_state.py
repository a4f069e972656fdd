"""The rise/fall state machine, by example and against an independent reference model."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lvsocf.checks.state import HealthState, RiseFall, Transition

S = HealthState


def feed(rf: RiseFall, results: str) -> list[Transition]:
    """results: a string of '+' (ok) and '-' (fail)."""
    return [t for t in (rf.observe(c == "+") for c in results) if t is not None]


def test_unknown_rises_after_rise_successes():
    rf = RiseFall(rise=2, fall=3)
    assert rf.state is S.UNKNOWN and not rf.healthy
    assert rf.observe(True) is None
    t = rf.observe(True)
    assert t == Transition(S.UNKNOWN, S.UP, True, t.at)
    assert rf.healthy and rf.since == t.at


def test_unknown_falls_after_fall_failures():
    rf = RiseFall(rise=2, fall=3)
    assert feed(rf, "--") == []
    (t,) = feed(rf, "-")
    assert (t.old, t.new, t.hard) == (S.UNKNOWN, S.DOWN, True)


def test_up_soft_down_then_recovers_without_hard_transition():
    rf = RiseFall(rise=2, fall=3, initial=S.UP)
    t1, t2 = feed(rf, "--+")
    assert (t1.old, t1.new, t1.hard) == (S.UP, S.SOFT_DOWN, False)
    assert (t2.old, t2.new, t2.hard) == (S.SOFT_DOWN, S.UP, False)
    assert rf.healthy


def test_soft_down_is_still_healthy_until_fall():
    rf = RiseFall(rise=2, fall=3, initial=S.UP)
    feed(rf, "--")
    assert rf.state is S.SOFT_DOWN and rf.healthy
    (t,) = feed(rf, "-")
    assert (t.old, t.new, t.hard) == (S.SOFT_DOWN, S.DOWN, True)
    assert not rf.healthy


def test_down_soft_up_is_unhealthy_until_rise():
    rf = RiseFall(rise=3, fall=1, initial=S.DOWN)
    (t,) = feed(rf, "+")
    assert (t.new, t.hard) == (S.SOFT_UP, False) and not rf.healthy
    assert feed(rf, "+") == []
    (t,) = feed(rf, "+")
    assert (t.old, t.new, t.hard) == (S.SOFT_UP, S.UP, True)


def test_soft_up_failure_goes_back_down_softly():
    rf = RiseFall(rise=3, fall=2, initial=S.DOWN)
    (t1, t2) = feed(rf, "+-")
    assert (t2.old, t2.new, t2.hard) == (S.SOFT_UP, S.DOWN, False)


def test_rise_and_fall_of_one_switch_immediately():
    rf = RiseFall(rise=1, fall=1)
    assert [(t.new, t.hard) for t in feed(rf, "+-+")] == [
        (S.UP, True), (S.DOWN, True), (S.UP, True)]


def test_initial_soft_state_resumes_as_its_hard_state():
    assert RiseFall(2, 3, initial=S.SOFT_DOWN).state is S.UP
    assert RiseFall(2, 3, initial=S.SOFT_UP).state is S.DOWN


def test_counters_and_since_use_the_clock():
    now = [100.0]
    rf = RiseFall(rise=2, fall=2, clock=lambda: now[0])
    assert rf.since == 100.0
    now[0] = 105.0
    feed(rf, "+-++")
    c = rf.counters
    assert (c.consecutive_ok, c.consecutive_fail, c.total_ok, c.total_fail) == (2, 0, 3, 1)
    assert rf.state is S.UP and rf.since == 105.0


@pytest.mark.parametrize("rise,fall", [(0, 1), (1, 0), (-1, 3), (True, 2), (2.0, 2)])
def test_rejects_bad_parameters(rise, fall):
    with pytest.raises(ValueError):
        RiseFall(rise, fall)


def test_flapping_never_hard_transitions():
    for initial in (S.UNKNOWN, S.UP, S.DOWN):
        rf = RiseFall(rise=2, fall=3, initial=initial)
        hard = [t for t in feed(rf, "+-" * 50) if t.hard]
        assert hard == [] and rf.state.hard is initial


# ------------------------------------------------------------------ reference model


def reference(rise: int, fall: int, initial: HealthState, results: list[bool]):
    """Hard state after each result, from run lengths: the last `rise` results all ok and not
    already UP -> UP; the last `fall` all failed and not already DOWN -> DOWN."""
    hard = initial.hard
    states = []
    for i in range(len(results)):
        window_ok = i + 1 >= rise and all(results[i + 1 - rise:i + 1])
        window_fail = i + 1 >= fall and not any(results[i + 1 - fall:i + 1])
        if window_ok and results[i]:
            hard = S.UP
        elif window_fail and not results[i]:
            hard = S.DOWN
        states.append(hard)
    return states


settings_ = settings(max_examples=300, deadline=None)
initial_states = st.sampled_from([S.UNKNOWN, S.UP, S.DOWN])


@settings_
@given(st.integers(1, 6), st.integers(1, 6), initial_states, st.lists(st.booleans(), max_size=80))
def test_matches_reference_model(rise, fall, initial, results):
    rf = RiseFall(rise, fall, initial=initial)
    expected = reference(rise, fall, initial, results)
    for ok, hard in zip(results, expected, strict=True):
        t = rf.observe(ok)
        assert rf.state.hard is hard
        assert rf.healthy == (hard is S.UP)
        # soft states only where the model says the hard state is unchanged and results differ
        if rf.state is S.SOFT_DOWN:
            assert not ok and hard is S.UP
        if rf.state is S.SOFT_UP:
            assert ok and hard is S.DOWN
        if t is not None:
            assert t.old is not t.new and t.hard == (t.old.hard is not t.new.hard)


@settings_
@given(st.integers(1, 6), st.integers(1, 6), initial_states, st.lists(st.booleans(), max_size=80))
def test_hard_transitions_are_bounded(rise, fall, initial, results):
    rf = RiseFall(rise, fall, initial=initial)
    hard_at = [i for i, ok in enumerate(results) if (t := rf.observe(ok)) and t.hard]
    # each hard transition needs a fresh run of >= min(rise, fall) results after the last one
    gap = min(rise, fall)
    assert len(hard_at) <= (len(results) + gap - 1) // gap
    assert all(b - a >= gap for a, b in zip(hard_at, hard_at[1:], strict=False))
    # and each one is justified by a run of rise successes / fall failures ending there
    for i in hard_at:
        run = rise if results[i] else fall
        assert i + 1 >= run and len(set(results[i + 1 - run:i + 1])) == 1


@st.composite
def flapping(draw):
    """Sequences whose ok-runs are shorter than rise and fail-runs shorter than fall."""
    rise, fall = draw(st.integers(2, 6)), draw(st.integers(2, 6))
    results: list[bool] = []
    value = draw(st.booleans())
    for _ in range(draw(st.integers(0, 30))):
        results += [value] * draw(st.integers(1, (rise if value else fall) - 1))
        value = not value
    return rise, fall, results


@settings_
@given(flapping(), initial_states)
def test_flapping_sequences_cause_no_hard_transition(case, initial):
    rise, fall, results = case
    rf = RiseFall(rise, fall, initial=initial)
    assert not any(t.hard for ok in results if (t := rf.observe(ok)))
    assert rf.state.hard is initial
