"""ldirectord.cf -> neutral model: every converted directive, warnings and errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lvsocf.cli.convert import ldirectord
from lvsocf.cli.convert.diag import ConvertError, Diagnostics
from lvsocf.cli.convert.model import Config, VirtualService

DATA = Path(__file__).resolve().parent / "data"


def parse(text: str) -> tuple[Config, Diagnostics]:
    diags = Diagnostics("t.cf")
    return ldirectord.parse(textwrap.dedent(text), diags), diags


def by_key(config: Config) -> dict[str, VirtualService]:
    out = {}
    for svc in config.services:
        key = f"fwm-{svc.fwmark}" if svc.fwmark else f"{svc.protocol}/{svc.address}:{svc.port}"
        out[key] = svc
    return out


def warnings_at(diags: Diagnostics, line: int) -> list[str]:
    return [msg for n, msg in diags.warnings if n == line]


@pytest.fixture(scope="module")
def full() -> tuple[dict[str, VirtualService], Diagnostics]:
    diags = Diagnostics("ld_full.cf")
    config = ldirectord.parse((DATA / "ld_full.cf").read_text(), diags)
    return by_key(config), diags


def test_http_service_and_virtual_level_overrides(full):
    svcs, _ = full
    svc = svcs["tcp/10.0.0.10:80"]
    assert svc.params == {
        "scheduler": "wlc", "persistent": "300", "netmask": "255.255.255.0",
        "fallback": "127.0.0.1:80", "fallback_method": "masq",
    }
    assert svc.comments == ["servicename: Web", "comment: Main site"]
    # range 10.0.1.1->10.0.1.3 expanded, plus one more real
    assert [r.address for r in svc.reals] == ["10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.9"]
    first = svc.reals[0].params
    assert first == {
        "method": "gate", "weight": "2", "check_type": "http", "check_port": "8080",
        "check_interval": "2", "check_timeout": "7", "rise": "1", "fall": "4",
        "http_method": "HEAD", "request": "/health", "virtualhost": "www.example.com",
        "status_codes": "200-299", "receive": "Healthy", "failure_action": "remove",
    }
    last = svc.reals[3].params
    assert (last["request"], last["receive"]) == ("/alive.html", "OK")  # per-real override
    assert (last["weight"], last["l_threshold"], last["u_threshold"]) == ("5", "10", "100")


def test_globals_are_defaults(full):
    svcs, _ = full
    rs = svcs["tcp/10.0.0.10:443"].reals[0].params
    # global checkinterval/failurecount/quiescent; virtual checktimeout=2 also sets negotiate
    assert (rs["check_interval"], rs["fall"], rs["failure_action"]) == ("6", "3", "quiescent")
    assert rs["check_timeout"] == "2"
    assert (rs["rport"], rs["method"], rs["tls_verify"]) == ("8443", "masq", "false")
    assert svcs["tcp/10.0.0.10:443"].params["fallback"] == "10.0.2.99:443"


def test_dns_udp_and_ops(full):
    svcs, _ = full
    svc = svcs["udp/10.0.0.10:53"]
    assert svc.params["ops"] == "true"
    rs = svc.reals[0].params
    assert (rs["check_type"], rs["dns_query"], rs["dns_type"], rs["receive"]) == (
        "dns", "example.com", "A", "192.0.2.1")
    assert rs["check_timeout"] == "12"  # global negotiatetimeout


def test_fwmark_service(full):
    svcs, diags = full
    svc = svcs["fwm-7"]
    assert svc.identity() == {"fwmark": "7", "family": "inet"}
    assert [r.params["method"] for r in svc.reals] == ["gate", "ipip"]
    assert svc.reals[0].params["check_port"] == "80"  # from service=http, reals have no port
    assert "rport" not in svc.reals[0].params


def test_ipv6_connect_check(full):
    svcs, _ = full
    svc = svcs["tcp/2001:db8::10:80"]
    assert svc.family == "inet6"
    assert svc.params["netmask"] == "64"
    assert svc.params["fallback"] == "[::1]:80"  # global fallback6
    assert svc.reals[0].params["check_type"] == "tcp"
    assert svc.reals[0].params["check_timeout"] == "4"  # global checktimeout (connect)


def test_check_types(full):
    svcs, diags = full
    types = {port: svcs[f"{'udp' if port == 5060 else 'tcp'}/10.0.0.11:{port}"].reals[0].params
             for port in (25, 22, 3306, 5060, 7001, 7002, 7003, 7004)}
    assert types[25]["check_type"] == "tcp"  # smtp: no lvsocf check
    assert types[22]["check_type"] == "external"
    assert types[22]["external_command"] == (
        "/usr/local/bin/check-ssh --quick 10.0.0.11 22 10.0.5.1 22")
    assert types[3306]["check_type"] == "ping"
    assert types[5060]["check_type"] == "ping"  # connect on udp pings, like ldirectord
    assert types[7001] == {"method": "gate", "weight": "1", "check_type": "none",
                           "failure_action": "quiescent"}
    assert types[7002]["check_type"] == "none"
    assert types[7003]["check_type"] == "http"
    assert types[7004]["check_type"] == "none"
    text = (DATA / "ld_full.cf").read_text().splitlines()
    line = {t.strip(): i for i, t in enumerate(text, 1)}
    assert any("service=smtp" in w for w in warnings_at(diags, line["service=smtp"]))
    assert any("checktype=off" in w for w in warnings_at(diags, line["checktype=off"]))
    assert any("checktype=3" in w for w in warnings_at(diags, line["checktype=3"]))
    assert any("login" in w for w in warnings_at(diags, line['login="user"']))


def test_sched_flags_and_weight_zero(full):
    svcs, _ = full
    svc = svcs["tcp/10.0.0.12:80"]
    assert (svc.params["scheduler"], svc.params["sched_flags"]) == ("sh", "sh-port,sh-fallback")
    assert svc.reals[1].params["weight"] == "0"


def test_global_directives_warned(full):
    _, diags = full
    lines = {n for n, _ in diags.warnings}
    assert {10, 11, 12, 13, 14} <= lines  # autoreload logfile emailalert checkcount fork


def test_ldirectord_defaults():
    config, _ = parse("""\
        virtual=192.0.2.1:80
        \treal=198.51.100.1:80 gate
    """)
    svc = config.services[0]
    assert svc.params == {"scheduler": "wrr"}
    assert svc.reals[0].params == {
        "method": "gate", "weight": "1", "check_type": "http", "check_interval": "10",
        "check_timeout": "30", "rise": "1", "fall": "1", "http_method": "GET", "request": "/",
        "status_codes": "200-299", "failure_action": "remove",
    }


def test_timeouts_are_mutual_defaults():
    config, _ = parse("""\
        negotiatetimeout=9
        virtual=192.0.2.1:80
        \treal=198.51.100.1:80 gate
        \tchecktype=connect
    """)
    assert config.services[0].reals[0].params["check_timeout"] == "9"


def test_gate_real_port_mismatch_is_a_check_port():
    config, diags = parse("""\
        virtual=192.0.2.1:80
        \treal=198.51.100.1:8080 gate
        \tchecktype=connect
    """)
    rs = config.services[0].reals[0].params
    assert "rport" not in rs and rs["check_port"] == "8080"
    assert any("ignored by IPVS" in w for w in warnings_at(diags, 2))


def test_dns_reverse_lookup_and_absolute_url():
    config, diags = parse("""\
        virtual=192.0.2.1:53
        \treal=198.51.100.1:53 gate
        \trequest="192.0.2.7"
        \treceive="host"
        virtual=192.0.2.1:80
        \treal=198.51.100.1:80 gate
        \trequest="http://example.com/x?y=1"
    """)
    dns = config.services[0].reals[0].params
    assert (dns["dns_query"], dns["dns_type"]) == ("7.2.0.192.in-addr.arpa", "PTR")
    assert config.services[1].reals[0].params["request"] == "/x?y=1"
    assert any("absolute request URL" in w for w in warnings_at(diags, 7))


def test_external_perl_and_fwmark_command():
    config, diags = parse("""\
        virtual=3
        \treal=198.51.100.1 gate
        \tchecktype=external-perl
        \tcheckcommand=/etc/ha.d/check.pl
    """)
    cmd = config.services[0].reals[0].params["external_command"]
    assert cmd == "perl /etc/ha.d/check.pl 3 0 198.51.100.1 0"
    assert warnings_at(diags, 3)


def test_host_names_and_ranges_warn():
    config, diags = parse("""\
        virtual=www.example.com:http
        \treal=web1:80 masq
        \treal=sql01->sql03:3306 gate
    """)
    svc = config.services[0]
    assert (svc.address, svc.port) == ("www.example.com", 80)
    assert [r.address for r in svc.reals] == ["web1"]
    assert any("host name" in w for w in warnings_at(diags, 1))
    assert any("cannot be expanded" in w for w in warnings_at(diags, 3))


def test_duplicate_real_is_skipped_and_netmask_needs_persistent():
    config, diags = parse("""\
        virtual=192.0.2.1:80
        \treal=198.51.100.1:80 gate
        \treal=198.51.100.1:80 gate 3
        \tnetmask=255.255.255.0
        \tops=yes
    """)
    svc = config.services[0]
    assert len(svc.reals) == 1 and "netmask" not in svc.params and "ops" not in svc.params
    assert warnings_at(diags, 3) and warnings_at(diags, 4) and warnings_at(diags, 5)


def test_blank_lines_and_comments_inside_a_section():
    config, _ = parse("""\
        virtual=192.0.2.1:80  # the web
        \treal=198.51.100.1:80 gate

        # a comment
        \treal=198.51.100.2:80 gate  # second
        \treceive="a#b"
    """)
    svc = config.services[0]
    assert [r.address for r in svc.reals] == ["198.51.100.1", "198.51.100.2"]
    assert svc.reals[0].params["receive"] == "a#b"


@pytest.mark.parametrize(("text", "line", "fragment"), [
    ("virtual=192.0.2.1\n", 1, "ip:port"),
    ("virtual=1.2.3.999:80\n", 1, "invalid address"),
    ("virtual=192.0.2.1:99999\n", 1, "invalid port"),
    ("virtual=[2001:db8::1]:80\n", 1, "virtual6"),
    ("\treal=198.51.100.1:80 gate\n", 1, "outside a virtual"),
    ("checktimeout=abc\n", 1, "positive integer"),
    ("scheduler=rr\n", 1, "only valid inside"),
    ("just some words\n", 1, "directive=value"),
    ("virtual=192.0.2.1:80\n\treal=198.51.100.1:80 route\n", 2, "forward method"),
    ("virtual=192.0.2.1:80\n\treal=198.51.100.1:80 gate 70000\n", 2, "weight"),
    ("virtual=192.0.2.1:80\n\treal=198.51.100.1:80 gate 1 junk\n", 2, "invalid real server"),
    ("virtual=192.0.2.1:80\n\treal=[2001:db8::1]:80 gate\n", 2, "not inet"),
    ("virtual=192.0.2.1:80\n\treal6=[2001:db8::1]:80 gate\n", 2, 'use "real"'),
    ("virtual=192.0.2.1:80\n\treal=198.51.100.9->198.51.100.1:80 gate\n", 2, "range"),
    ("virtual=192.0.2.1:80\n\treal=10.0.0.0->10.1.0.0:80 gate\n", 2, "more than"),
    ("virtual=192.0.2.1:80\n\tchecktype=sometimes\n", 2, "checktype"),
    ("virtual=192.0.2.1:80\n\tservice=gopher\n", 2, "service"),
    ("virtual=192.0.2.1:80\n\tprotocol=fwm\n", 2, "tcp or udp"),
    ("virtual=5\n\tprotocol=tcp\n", 2, "fwm"),
    ("virtual=192.0.2.1:80\n\tquiescent=maybe\n", 2, "quiescent"),
    ("virtual=192.0.2.1:80\n\thttpmethod=POST\n", 2, "GET or HEAD"),
    ("virtual=192.0.2.1:80\n\tnetmask=24\n", 2, "dotted quad"),
    ("virtual=192.0.2.1:80\n\tscheduler=W R R\n", 2, "scheduler"),
    ("virtual=192.0.2.1:80\n\tcheckport=0\n", 2, "checkport"),
    ("virtual=192.0.2.1:80\n\tfallback=127.0.0.1:80 nat\n", 2, "forward method"),
    ("virtual=192.0.2.1:80\nvirtual=192.0.2.1:80\n", 2, "duplicate"),
    ("virtual=0\n", 1, "fwmark"),
])
def test_errors_have_line_numbers(text, line, fragment):
    with pytest.raises(ConvertError) as exc:
        ldirectord.parse(text, Diagnostics("t.cf"))
    assert exc.value.line == line
    assert fragment in exc.value.message


def sample_blocks(text: str) -> list[tuple[str, int]]:
    """Every commented-out virtual service block of Debian's sample ldirectord.cf, made
    active and put after the sample's global directives: (config, line of its virtual=)."""
    lines = text.split("\n")
    first = next(i for i, ln in enumerate(lines) if ln.startswith("virtual="))
    head = lines[:first]
    blocks, i = [], first
    while i < len(lines):
        if lines[i].startswith("#virtual"):
            body = [lines[i][1:]]
            i += 1
            while i < len(lines) and lines[i].startswith("#\t"):
                body.append(lines[i][1:])
                i += 1
            blocks.append(("\n".join(head + body) + "\n", len(head) + 1))
        else:
            i += 1
    return blocks


def test_debian_sample_commented_blocks(samples):
    text = samples["ldirectord.cf"].read_text()
    blocks = sample_blocks(text)
    assert len(blocks) >= 15
    converted = 0
    for config, vline in blocks:
        diags = Diagnostics("ldirectord.cf")
        try:
            result = ldirectord.parse(config, diags)
        except ConvertError as err:
            # the sip sample writes "real=192.168.6.2::5060", which ldirectord misreads too
            assert "::5060" in config.split("\n")[err.line - 1], err.message
            continue
        converted += 1
        assert len(result.services) == 1
        assert result.services[0].line == vline
    assert converted == len(blocks) - 1
