"""Garbage in: the converter answers with a result or a FILE:LINE error, never a traceback."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lvsocf.cli.convert import convert, run
from lvsocf.cli.convert.diag import ConvertError

LD_WORDS = [
    "virtual=", "virtual6=", "real=", "real6=", "\treal=", "\treal6=", "\t", "    ", "fallback=",
    "\tfallback6=", "checktype=", "\tchecktype=", "\tservice=", "\trequest=", "\treceive=",
    "\tcheckport=", "\tscheduler=", "\tschedflags=", "\tpersistent=", "\tnetmask=",
    "\tprotocol=", "\tquiescent=", "\tcheckcommand=", "\tvirtualhost=", "\thttpmethod=",
    "checkinterval=", "checktimeout=", "negotiatetimeout=", "failurecount=", "\tops=",
    "192.0.2.1", "10.0.0.1", "[2001:db8::1]", "2001:db8::1", ":80", ":http", ":0", ":99999",
    "->", " gate", " masq", " ipip", " 5", " 0", " 70000", " l:3", " u:9", ' "/a", "b"',
    '"', "#", "=", " ", "fwm", "tcp", "udp", "http", "https", "dns", "none", "smtp",
    "negotiate", "connect", "ping", "external", "external-perl", "off", "on", "3", "yes", "no",
    "255.255.255.0", "64", "sh-port,sh-fallback", "wrr", "1", "4294967296", "٣",
]
KA_WORDS = [
    "virtual_server", "real_server", "virtual_server_group", "global_defs", "vrrp_instance",
    "virtual_ipaddress", "{", "}", "{ ", " }", '"', "!", "#", "@x ", "@^x ", "$P=", "include",
    "TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "DNS_CHECK", "PING_CHECK", "UDP_CHECK",
    "SMTP_CHECK", "BFD_CHECK", "url", "path", "status_code", "digest", "virtualhost", "regex",
    "misc_path", "misc_timeout", "type", "name", "payload", "require_reply", "host",
    "connect_ip", "connect_port", "connect_timeout", "delay_loop", "retry", "weight",
    "lvs_sched", "lb_algo", "lvs_method", "lb_kind", "NAT", "DR", "TUN", "protocol", "TCP",
    "UDP", "SCTP", "persistence_timeout", "persistence_granularity", "sorry_server",
    "inhibit_on_failure", "lvs_sync_daemon", "lvs_sync_daemon_interface", "lvs_timeouts",
    "fwmark", "group", "ops", "sh-port", "ip_family", "inet6", "192.0.2.1", "2001:db8::1",
    "10.0.0.1/24", "dev", "eth0", "80", "0", "65536", "200-299", "2x", "A", "\\", " ", "\t",
]


def lines_of(words: list[str]) -> st.SearchStrategy[str]:
    fragment = st.one_of(st.sampled_from(words), st.text(max_size=6))
    line = st.lists(fragment, max_size=8).map("".join)
    return st.lists(line, max_size=25).map("\n".join)


def check(text: str, fmt: str) -> None:
    for to in ("crm", "pcs"):
        try:
            result = convert(text, "fuzz.conf", to, fmt)
        except ConvertError as err:
            assert err.line is None or 1 <= err.line <= max(1, text.count("\n") + 1)
            assert "\n" not in err.message
        else:
            assert result.text.endswith("\n")


DATA = Path(__file__).resolve().parent / "data"
VALID = {"ldirectord": (DATA / "ld_full.cf").read_text().split("\n"),
         "keepalived": (DATA / "ka_full.conf").read_text().split("\n")}


@st.composite
def mutated(draw, fmt: str) -> str:
    """A valid configuration with a few lines dropped, duplicated or cut, or garbage added."""
    lines = list(VALID[fmt])
    words = LD_WORDS if fmt == "ldirectord" else KA_WORDS
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["drop", "dup", "cut", "insert", "append"]))
        if op == "drop":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "cut":
            lines[i] = lines[i][:draw(st.integers(0, max(0, len(lines[i]) - 1)))]
        elif op == "insert":
            lines.insert(i, draw(st.sampled_from(words)) + draw(st.sampled_from(words)))
        else:
            lines[i] += draw(st.sampled_from(words))
        if not lines:
            lines = [""]
    return "\n".join(lines)


SETTINGS = settings(max_examples=250, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(lines_of(LD_WORDS))
def test_ldirectord_garbage(text):
    check(text, "ldirectord")


@SETTINGS
@given(lines_of(KA_WORDS))
def test_keepalived_garbage(text):
    check(text, "keepalived")


@SETTINGS
@given(st.sampled_from(["ldirectord", "keepalived"]).flatmap(
    lambda fmt: st.tuples(st.just(fmt), mutated(fmt))))
def test_mutated_valid_configs(case):
    fmt, text = case
    check(text, fmt)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["ldirectord", "keepalived", "auto"]))
def test_command_on_random_bytes_exits_0_or_2(tmp_path_factory, data, fmt):
    path = tmp_path_factory.mktemp("fuzz") / "in.conf"
    path.write_bytes(data)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = run([str(path), "--to", "crm", "--format", fmt])
    assert rc in (0, 2)
    assert "Traceback" not in err.getvalue()
    if rc == 2:
        assert f"{path}" in err.getvalue() and ": error: " in err.getvalue()
