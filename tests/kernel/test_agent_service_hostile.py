"""Hostile parameter values through IPVSService's every action against the real kernel: exit
codes only from {0, 2, 5, 6, 7}, an exit reason for every non-zero, never a traceback, and
another service with its real server untouched."""
import subprocess

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.kernel.conftest import ipvsadm, saved

ALLOWED = {0, 2, 5, 6, 7}
SENTINEL = {"-A -t 10.9.9.9:9 -s rr", "-a -t 10.9.9.9:9 -r 10.9.8.1:9 -m -w 3"}
junk = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
               max_size=40)
params = st.fixed_dictionaries({}, optional={
    "protocol": st.sampled_from(["tcp", "udp", "sctp", "icmp", "", "TCP"]),
    "vip": st.one_of(st.sampled_from(["10.0.0.1", "2001:db8::1", "10.0.0.256", "::",
                                      "224.0.0.1"]), junk),
    "port": st.one_of(st.integers(-5, 70000).map(str), junk),
    "fwmark": st.one_of(st.sampled_from(["", "0", "7", "4294967296"]), junk),
    "family": st.sampled_from(["inet", "inet6", "ipx"]),
    "scheduler": st.one_of(st.sampled_from(["rr", "wlc", "sh", "mh", "nosuch", "RR"]), junk),
    "sched_flags": st.sampled_from(["", "sh-port", "mh-port,mh-fallback", "flag-9", ","]),
    "persistent": st.one_of(st.integers(-1, 10**7).map(str), junk),
    "netmask": st.sampled_from(["", "255.255.255.0", "24", "64", "129", "255.0.255.0", "x"]),
    "pe": st.sampled_from(["", "sip", "nosuch", "../x"]),
    "ops": st.sampled_from(["", "true", "maybe"]),
    "fallback": st.sampled_from(["", "10.0.5.5", "10.0.5.5:80", "[2001:db8::5]:80", "x:y"]),
})


@settings(max_examples=4, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=params)
def test_hostile_values_touch_nothing_else(agent_factory, values):
    if not {line for line in saved() if "10.9.9.9" in line}:
        ipvsadm("-A", "-t", "10.9.9.9:9", "-s", "rr")
        ipvsadm("-a", "-t", "10.9.9.9:9", "-r", "10.9.8.1:9", "-m", "-w", "3")
    svc = agent_factory("IPVSService")
    for action, env in (("validate-all", {}), ("start", {}),
                        ("monitor", {"OCF_RESKEY_CRM_meta_interval": "10000"}),
                        ("monitor", {"OCF_RESKEY_CRM_meta_interval": "0"}),
                        ("reload-agent", {}), ("stop", {})):
        done: subprocess.CompletedProcess = svc(action, env=env, **values)
        output = done.stdout + done.stderr
        assert "Traceback" not in output, (action, output)
        assert done.returncode in ALLOWED, (action, done.returncode, output)
        if done.returncode:
            assert "ocf-exit-reason:" in done.stderr, (action, output)
        assert SENTINEL <= saved(), (action, values, saved())
    ours = {line for line in saved() if "10.9.9.9" in line}
    assert ours == SENTINEL
