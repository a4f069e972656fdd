"""dns check against a small wire-format responder written in conftest.py."""
from __future__ import annotations

import asyncio

import pytest

from lvsocf.checks import Target, build_checker


def dns(port, timeout=1.0, address="127.0.0.1", **options):
    return asyncio.run(build_checker("dns", Target(address, port), options).check(timeout))


def test_default_root_soa(dns_port):
    r = dns(dns_port)
    assert r.ok and r.detail == "NOERROR, 1 answers"
    assert dns(dns_port, receive=r"^a\.root-servers\.test\. nstld\.test\. 1 2 3 4 5$").ok


def test_ipv6(dns6_port):
    assert dns(dns6_port, address="::1", dns_query="www.example.test", dns_type="AAAA",
               receive="^2001:db8::10$").ok


@pytest.mark.parametrize("qtype,receive", [
    ("A", r"^192\.0\.2\.11$"),
    ("AAAA", r"^2001:db8::10$"),
    ("SOA", r"^ns1\.example\.test\. hostmaster\.example\.test\. 2024010101 3600 600 86400 300$"),
    ("MX", r"^10 mail\.example\.test\.$"),
    ("NS", r"^ns1\.example\.test\.$"),
    ("TXT", r'^"v=spf1 -all" "second"$'),
    ("CNAME", r"^www\.example\.test\.$"),
    ("PTR", r"^www\.example\.test\.$"),
])
def test_record_types_and_text_forms(dns_port, qtype, receive):
    query = {"A": "www.example.test", "AAAA": "www.example.test", "CNAME": "alias.example.test",
             "PTR": "192.0.2.10"}.get(qtype, "example.test.")
    r = dns(dns_port, dns_query=query, dns_type=qtype.lower(), receive=receive)
    assert r.ok, r


def test_receive_mismatch(dns_port):
    r = dns(dns_port, dns_query="www.example.test", dns_type="A", receive="^192\\.0\\.2\\.99$")
    assert not r.ok and r.detail == "no answer matches receive (2 answers)"


def test_nodata_is_up_unless_receive(dns_port):
    assert dns(dns_port, dns_query="alias.example.test", dns_type="MX").ok
    assert not dns(dns_port, dns_query="alias.example.test", dns_type="MX", receive=".").ok


def test_query_name_is_case_insensitive(dns_port):
    assert dns(dns_port, dns_query="WWW.Example.TEST", dns_type="A", receive="192.0.2.10").ok


def test_nxdomain(dns_port):
    r = dns(dns_port, dns_query="nx.example.test", dns_type="A")
    assert not r.ok and r.detail == "rcode NXDOMAIN"


def test_servfail(dns_port):
    r = dns(dns_port, dns_query="servfail.example.test")
    assert not r.ok and r.detail == "rcode SERVFAIL"


def test_wrong_id_is_ignored_then_times_out(dns_port):
    r = dns(dns_port, dns_query="wrongid.example.test", timeout=0.3)
    assert not r.ok
    assert r.detail == "no matching reply within 0.3s (1 with a wrong id ignored)"


def test_wrong_id_then_right_id_is_up(dns_port):
    r = dns(dns_port, dns_query="spoof.example.test", dns_type="A")
    assert r.ok and r.latency < 0.5, r


def test_reply_for_another_question(dns_port):
    r = dns(dns_port, dns_query="otherq.example.test", dns_type="A")
    assert not r.ok and r.detail == "reply is for another question"


@pytest.mark.parametrize("name", ["bad.example.test", "loop.example.test"])
def test_malformed_replies(dns_port, name):
    r = dns(dns_port, dns_query=name, dns_type="A")
    assert not r.ok and r.detail.startswith("malformed reply"), r


def test_silent_server_times_out(dns_port):
    r = dns(dns_port, dns_query="silent.example.test", timeout=0.3)
    assert not r.ok and r.detail == "no reply within 0.3s"


def test_closed_port(closed_udp_port):
    r = dns(closed_udp_port)
    assert not r.ok and r.detail == "port unreachable"


def test_query_wire_format():
    from lvsocf.checks.dns import build_query, encode_name
    assert encode_name(".") == b"\0"
    assert encode_name("www.example.test.") == b"\x03www\x07example\x04test\x00"
    q = build_query(0x1234, encode_name("example.test"), 6)
    assert q == (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                 b"\x07example\x04test\x00\x00\x06\x00\x01")
