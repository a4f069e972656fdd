"""keepalived.conf (LVS part) -> neutral model: keywords, inheritance, lexer, warnings, errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lvsocf.cli.convert import keepalived
from lvsocf.cli.convert.diag import ConvertError, Diagnostics
from lvsocf.cli.convert.keepalived_lexer import parse_tree
from lvsocf.cli.convert.model import Config, VirtualService

DATA = Path(__file__).resolve().parent / "data"


def parse(text: str) -> tuple[Config, Diagnostics]:
    diags = Diagnostics("k.conf")
    return keepalived.parse(textwrap.dedent(text), diags), diags


def by_key(config: Config) -> dict[str, VirtualService]:
    out = {}
    for svc in config.services:
        key = f"fwm-{svc.fwmark}" if svc.fwmark else f"{svc.protocol}/{svc.address}:{svc.port}"
        out[key] = svc
    return out


def line_of(text: str, fragment: str) -> int:
    return next(i for i, t in enumerate(text.splitlines(), 1) if fragment in t)


@pytest.fixture(scope="module")
def full() -> tuple[Config, Diagnostics, str]:
    text = (DATA / "ka_full.conf").read_text()
    diags = Diagnostics("ka_full.conf")
    return keepalived.parse(text, diags), diags, text


def test_sync_daemon_from_global_defs(full):
    config, _, _ = full
    assert config.sync is not None
    assert config.sync.params == {
        "interface": "eth1", "syncid": "7", "maxlen": "1400", "mcast_port": "8848",
        "mcast_ttl": "2", "mcast_group": "224.0.0.81", "timeout_tcp": "900",
        "timeout_tcpfin": "120", "timeout_udp": "300",
    }


def test_http_virtual_server_and_inheritance(full):
    config, _, _ = full
    svc = by_key(config)["tcp/10.1.0.10:80"]
    assert svc.params == {"scheduler": "wrr", "persistent": "600", "netmask": "255.255.255.0",
                          "fallback": "10.1.2.1:80", "fallback_method": "gate"}
    assert (svc.vip_cidr, svc.vip_nic) == ("24", "eth2")  # from vrrp_instance VI_1
    one, two = (r.params for r in svc.reals)
    assert one == {
        "method": "gate", "weight": "3", "u_threshold": "100", "l_threshold": "10",
        "check_type": "http", "check_port": "8080", "check_interval": "5", "check_timeout": "2",
        "rise": "1", "fall": "3", "http_method": "GET", "request": "/health",
        "virtualhost": "www.example.com", "status_codes": "200,301-302", "receive": "^ok$",
        "failure_action": "quiescent",
    }
    assert two["virtualhost"] == "other.example.com"  # url-level overrides virtual_server
    assert two["failure_action"] == "remove"  # inhibit_on_failure no
    assert two["status_codes"] == "200-299" and "receive" not in two


def test_other_checkers(full):
    config, _, _ = full
    svcs = by_key(config)
    https = svcs["tcp/10.1.0.10:443"].reals[0].params
    assert (https["check_type"], https["tls_verify"], https["rport"]) == ("https", "false", "8443")
    assert https["check_interval"] == "60" and https["fall"] == "2"  # keepalived defaults
    dns = svcs["udp/10.1.0.10:53"]
    assert dns.params["ops"] == "true"
    assert (dns.reals[0].params["dns_type"], dns.reals[0].params["dns_query"]) == (
        "A", "example.com")
    assert dns.reals[0].params["fall"] == "4"  # DNS_CHECK retry default 3
    fwm = svcs["fwm-5"]
    assert fwm.params["sched_flags"] == "sh-port,sh-fallback"
    assert fwm.reals[0].params["method"] == "ipip"
    assert (fwm.reals[0].params["check_type"], fwm.reals[0].params["fall"]) == ("ping", "5")
    udp = svcs["udp/10.1.0.11:5000"].reals[0].params
    assert (udp["udp_payload"], udp["udp_expect"]) == ("ab120f03", "0102")
    misc = svcs["tcp/10.1.0.11:22"].reals[0].params
    assert misc["external_command"] == "/usr/local/bin/check-ssh --quick"
    assert (misc["check_timeout"], misc["fall"]) == ("4", "1")  # MISC_CHECK retry default 0
    smtp, nocheck = (r.params for r in svcs["tcp/10.1.0.11:25"].reals)
    assert smtp["check_type"] == "tcp"
    assert nocheck["check_type"] == "none" and nocheck["weight"] == "2"
    sip = svcs["udp/10.1.0.11:5060"]
    assert (sip.params["pe"], sip.params["persistent"]) == ("sip", "360")
    assert sip.reals[0].params["check_address"] == "10.1.9.10"
    v6 = svcs["tcp/2001:db8::10:80"]
    assert (v6.family, v6.vip_cidr, v6.vip_nic) == ("inet6", "64", "eth0")
    assert v6.reals[0].params["rport"] == "8080"


def test_warnings_carry_line_numbers(full):
    _, diags, text = full
    expected = {
        "lvs_flush": "lvs_flush", "include /etc": "include", "vrrp_instance VI_1": "vrrp",
        "quorum 2": "quorum", "digest 6402": "digest", "delay_before_retry": "delay_before",
        "TCP_CHECK {\n": "additional checker", "SMTP_CHECK": "SMTP_CHECK",
        "helo_name": "helo_name", "virtual_server group": "group",
    }
    for fragment, word in expected.items():
        line = line_of(text, fragment.rstrip("\n"))
        if fragment.endswith("\n"):  # the second checker, not the one in the IPv6 one-liner
            line = line_of(text, "        TCP_CHECK {")
        assert any(word in msg for n, msg in diags.warnings if n == line), (fragment, line)


def test_sample_style_old_keywords_and_sync_interface():
    config, diags = parse("""\
        vrrp_instance VI_9 {
            interface eth0
            lvs_sync_daemon_interface eth3
            virtual_router_id 42
            virtual_ipaddress {
                192.0.2.9
            }
        }
        virtual_server 192.0.2.9 80 {
            lb_algo lc
            lb_kind DR
            real_server 198.51.100.1 80 {
                TCP_CHECK {
                    connect_timeout 3
                }
            }
        }
    """)
    assert config.sync.params == {"interface": "eth3", "syncid": "42"}
    svc = config.services[0]
    assert svc.params["scheduler"] == "lc"
    assert (svc.vip_cidr, svc.vip_nic) == ("32", "eth0")
    assert svc.reals[0].params["method"] == "gate"


def test_old_keyword_spellings():
    config, _ = parse("""\
        virtual_server 192.0.2.1 80 {
            lb_algo sh
            lb_kind TUN
            real_server 198.51.100.1 80 {
                TCP_CHECK {
                    nb_get_retry 4
                }
            }
        }
    """)
    svc = config.services[0]
    assert svc.params["scheduler"] == "sh"
    assert (svc.reals[0].params["method"], svc.reals[0].params["fall"]) == ("ipip", "5")


def test_lvs_sync_daemon_id_defaults_to_the_instance_vrid():
    config, _ = parse("""\
        vrrp_instance VI_2 { virtual_router_id 77 }
        global_defs { lvs_sync_daemon eth1 inst VI_2 }
    """)
    assert config.sync.params == {"interface": "eth1", "syncid": "77"}


def test_timeouts_without_sync_warn():
    config, diags = parse("global_defs {\n lvs_timeouts tcp 10\n}\n")
    assert config.sync is None
    assert any("lvs_timeouts" in m for n, m in diags.warnings if n == 2)


def test_lexer_one_line_blocks_comments_and_quotes():
    diags = Diagnostics("k.conf")
    nodes = parse_tree('a { b "x y" ! c\n d {e 1}} # tail\nf\n{\n}\n', diags)
    assert [(n.keyword, n.args) for n in nodes] == [("a", []), ("f", [])]
    a = nodes[0]
    assert [(c.keyword, c.args) for c in a.children] == [("b", ["x y"]), ("d", [])]
    assert [(c.keyword, c.args) for c in a.children[1].children] == [("e", ["1"])]
    assert nodes[1].children == []


def test_conditional_lines_and_parameters():
    config, diags = parse("""\
        $PRIO=100 \\
          more
        virtual_server 192.0.2.1 80 {
        @high   lvs_sched rr
        @^high  lvs_sched sh
            real_server 198.51.100.1 80 {
            }
        }
    """)
    assert config.services[0].params["scheduler"] == "sh"
    assert {n for n, _ in diags.warnings} >= {1, 4, 5}


def test_granularity_prefix_and_family_of_fwmark():
    config, _ = parse("""\
        virtual_server 192.0.2.1 80 {
            persistence_timeout 30
            persistence_granularity 24
            real_server 198.51.100.1 80 { }
        }
        virtual_server fwmark 9 {
            real_server 2001:db8::1 { }
        }
    """)
    assert config.services[0].params["netmask"] == "255.255.255.0"
    assert config.services[1].family == "inet6"


def test_real_port_for_dr_becomes_check_port_and_duplicates_skip():
    config, diags = parse("""\
        virtual_server 192.0.2.1 80 {
            lvs_method DR
            real_server 198.51.100.1 8080 { TCP_CHECK { } }
            real_server 198.51.100.1 8080 { TCP_CHECK { } }
        }
    """)
    reals = config.services[0].reals
    assert len(reals) == 1
    assert reals[0].params["check_port"] == "8080" and "rport" not in reals[0].params
    assert any("duplicate" in m for n, m in diags.warnings if n == 4)


@pytest.mark.parametrize(("text", "line", "fragment"), [
    ("virtual_server 192.0.2.1 80 {\n", 1, "never closed"),
    ("}\n", 1, "unmatched"),
    ("{\n", 1, "without a keyword"),
    ('virtual_server 192.0.2.1 80 { lvs_sched "rr }\n', 1, "unterminated"),
    ("virtual_server 192.0.2.1 80\n", 1, "without a { ... } block"),
    ("virtual_server host.example 80 {\n}\n", 1, "IP address"),
    ("virtual_server 192.0.2.1 http {\n}\n", 1, "port"),
    ("virtual_server fwmark x {\n}\n", 1, "fwmark"),
    ("virtual_server 192.0.2.1 80 {\n lvs_method ROUTE\n}\n", 2, "NAT, DR or TUN"),
    ("virtual_server 192.0.2.1 80 {\n protocol ICMP\n}\n", 2, "TCP, UDP or SCTP"),
    ("virtual_server 192.0.2.1 80 {\n real_server x 80 {\n }\n}\n", 2, "IP address"),
    ("virtual_server 192.0.2.1 80 {\n real_server 2001:db8::1 80 {\n }\n}\n", 2, "not inet"),
    ("virtual_server 192.0.2.1 80 {\n real_server 198.51.100.1 80 {\n  weight x\n }\n}\n", 3,
     "weight"),
    ("virtual_server 192.0.2.1 80 {\n delay_loop 0\n real_server 198.51.100.1 80 {\n"
     "  TCP_CHECK {\n  }\n }\n}\n", 2, "delay_loop"),
    ("virtual_server 192.0.2.1 80 {\n real_server 198.51.100.1 80 {\n  HTTP_GET {\n"
     "   url {\n    status_code 2xx\n   }\n  }\n }\n}\n", 5, "status_code"),
    ("virtual_server 192.0.2.1 80 {\n real_server 198.51.100.1 80 {\n  HTTP_GET {\n  }\n"
     " }\n}\n", 3, "url"),
    ("virtual_server 192.0.2.1 80 {\n real_server 198.51.100.1 80 {\n  MISC_CHECK {\n  }\n"
     " }\n}\n", 3, "misc_path"),
    ("virtual_server 192.0.2.1 80 {\n real_server 198.51.100.1 80 {\n  DNS_CHECK {\n"
     "   type BOGUS\n  }\n }\n}\n", 4, "type"),
    ("virtual_server 192.0.2.1 80 {\n real_server 198.51.100.1 80 {\n  UDP_CHECK {\n"
     "   payload zz\n  }\n }\n}\n", 4, "hexadecimal"),
    ("virtual_server 192.0.2.1 80 {\n sorry_server nowhere\n}\n", 2, "sorry_server"),
    ("global_defs {\n lvs_sync_daemon eth1 id 300\n}\n", 2, "0-255"),
    ("global_defs {\n lvs_timeouts tcp\n}\n", 2, "lvs_timeouts"),
    ("virtual_server 192.0.2.1 80 {\n}\nvirtual_server 192.0.2.1 80 {\n}\n", 3, "duplicate"),
])
def test_errors_have_line_numbers(text, line, fragment):
    with pytest.raises(ConvertError) as exc:
        keepalived.parse(text, Diagnostics("k.conf"))
    assert exc.value.line == line
    assert fragment in exc.value.message
