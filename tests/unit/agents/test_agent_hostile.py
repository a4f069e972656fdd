"""Hostile parameter values through the real executable: only sane codes, always a reason."""

from __future__ import annotations

import itertools
import os
import subprocess
from pathlib import Path

from agent_harness import clean_env, needs_ocf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = needs_ocf

ALLOWED = {0, 2, 3, 5, 6, 7}
FUZZED = ("fake", "count", "verbose", "mode", "delay", "note", "old_fake", "pair_a")
ACTIONS = (
    ("meta-data", {}), ("validate-all", {}), ("validate-all", {"OCF_CHECK_LEVEL": "10"}),
    ("start", {}), ("monitor", {"OCF_RESKEY_CRM_meta_interval": "10000"}),
    ("monitor", {"OCF_RESKEY_CRM_meta_interval": "0"}), ("reload-agent", {}), ("stop", {}),
    ("promote", {}),  # not implemented by SampleDummy: 3
)

text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
               max_size=60)
hostile_bytes = st.one_of(
    text.map(lambda s: s.encode()),
    st.binary(max_size=30).map(lambda b: b.replace(b"\x00", b"")),  # invalid UTF-8 too
    st.integers().map(lambda i: str(i).encode()),
    st.integers(min_value=10**20, max_value=10**400).map(lambda i: str(i).encode()),
    st.sampled_from([b"", b" ", b"-1", b"0", b"101", b"1e9", b"nan", b"inf", b"<a>&amp;</a>",
                     b"]]>", b"\"'", b"a\nocf-exit-reason:forged", b"\r\n", b"yes", b"slow",
                     b"5min", b"\xff\xfe", "\u202e\u0661\U0001f600".encode()]),
)
values = st.dictionaries(st.sampled_from(FUZZED), hostile_bytes)
counter = itertools.count()


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=values)
def test_hostile_values_on_every_action(agents: dict[str, Path], state_dir: Path,
                                        params: dict[str, bytes]) -> None:
    base = {os.fsencode(k): os.fsencode(v) for k, v in clean_env().items()}
    base.update({b"OCF_RESKEY_" + k.encode(): v for k, v in params.items()})
    example = next(counter)
    procs = []
    for i, (action, extra) in enumerate(ACTIONS):
        env = dict(base)
        # each action its own state file: the actions run in parallel
        env[b"OCF_RESKEY_state"] = f"{state_dir}/{example}-{i}".encode()
        env.update({k.encode(): v.encode() for k, v in extra.items()})
        procs.append((action, subprocess.Popen([str(agents["SampleDummy"]), action], env=env,
                                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)))
    for action, proc in procs:
        out, err = proc.communicate(timeout=30)
        output = (out + err).decode(errors="replace")
        assert proc.returncode in ALLOWED, (action, proc.returncode, output)
        assert "Traceback" not in output, (action, output)
        reason_lines = [ln for ln in err.splitlines() if ln.startswith(b"ocf-exit-reason:")]
        if proc.returncode:
            assert len(reason_lines) == 1, (action, output)
        else:
            assert reason_lines == [], (action, output)
