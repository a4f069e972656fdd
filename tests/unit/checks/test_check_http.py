"""http and https checks against real http.server instances (TLS with a CA made per run)."""
from __future__ import annotations

import asyncio
import os

import pytest

from lvsocf.checks import Target, build_checker


def check(kind, address, port, options=None, timeout=2.0):
    return asyncio.run(build_checker(kind, Target(address, port), options or {}).check(timeout))


def http(port, timeout=2.0, **options):
    return check("http", "127.0.0.1", port, options, timeout)


def test_up(http_port):
    r = http(http_port)
    assert r.ok and r.detail == "status 200"


def test_up_ipv6(http6_port):
    r = check("http", "::1", http6_port, {"receive": "hello"})
    assert r.ok, r


def test_down_closed_port(closed_port):
    r = http(closed_port)
    assert not r.ok and r.detail == "Connection refused"


def test_wrong_status(http_port):
    r = http(http_port, request="/status/503")
    assert not r.ok and r.detail == "status 503 not in 200-299"
    r = http(http_port, request="/missing")
    assert not r.ok and "404" in r.detail


@pytest.mark.parametrize("codes,ok", [("200,301,302-304", True), ("301", True),
                                      ("200-299", False), ("300-399", True)])
def test_status_code_lists(http_port, codes, ok):
    assert http(http_port, request="/redirect", status_codes=codes).ok is ok


def test_receive_regex(http_port):
    assert http(http_port, receive=r"hello\s+lvsocf").ok
    r = http(http_port, receive="goodbye")
    assert not r.ok and r.detail == "status 200, body does not match receive"


def test_request_path_without_slash(http_port):
    assert http(http_port, request="status/204").ok


def test_head_has_no_body(http_port):
    assert http(http_port, http_method="HEAD").ok
    assert not http(http_port, http_method="head", receive="hello").ok


def test_chunked_body(http_port):
    assert http(http_port, request="/chunked", receive="MARKER-CHUNKED end").ok
    assert not http(http_port, request="/chunked", receive="X-Trailer").ok


def test_connection_close_body(http_port):
    assert http(http_port, request="/close", receive="MARKER-CLOSE").ok


def test_body_cap(http_port):
    assert http(http_port, request="/big", receive="^START").ok
    # the marker lies beyond the 64 KiB that are read
    assert not http(http_port, request="/big", receive="END-OF-BIG").ok


def test_interim_103_is_skipped(http_port):
    assert http(http_port, request="/early", receive="after early hints").ok


def test_truncated_body(http_port):
    r = http(http_port, request="/truncated", receive="little")
    assert not r.ok and "closed in the middle of the body" in r.detail


def test_host_header(http_port):
    assert http(http_port, request="/host", receive=rf"host=\[127\.0\.0\.1:{http_port}\]").ok
    assert http(http_port, request="/host", virtualhost="www.example.test",
                receive=rf"host=\[www\.example\.test:{http_port}\]").ok


def test_host_header_ipv6(http6_port):
    assert check("http", "::1", http6_port,
                 {"request": "/host", "receive": rf"host=\[\[::1\]:{http6_port}\]"}).ok


def test_timeout_server_accepts_and_never_answers(silent_tcp_port):
    r = http(silent_tcp_port, timeout=0.3)
    assert not r.ok and r.detail == "timed out after 0.3s"
    assert 0.25 < r.latency < 1


def test_not_http():
    async def main():
        async def greet(reader, writer):
            writer.write(b"220 smtp.example.test ESMTP ready\r\n\r\n")
            await writer.drain()
            writer.close()
        async def hangup(reader, writer):
            await reader.readuntil(b"\r\n\r\n")      # reads the request, answers nothing
            writer.close()
        async with await asyncio.start_server(greet, "127.0.0.1", 0) as s1, \
                await asyncio.start_server(hangup, "127.0.0.1", 0) as s2:
            p1, p2 = s1.sockets[0].getsockname()[1], s2.sockets[0].getsockname()[1]
            return (await build_checker("http", Target("127.0.0.1", p1), {}).check(1),
                    await build_checker("http", Target("127.0.0.1", p2), {}).check(1))
    r1, r2 = asyncio.run(main())
    assert not r1.ok and r1.detail == "not an HTTP response"
    assert not r2.ok and r2.detail == "no response (connection closed)"


# ---------------------------------------------------------------------------- https


def https(port, timeout=2.0, **options):
    return check("https", "127.0.0.1", port, options, timeout)


def test_https_verify_fails_without_the_ca(https_port):
    r = https(https_port)
    assert not r.ok
    assert r.detail.startswith("TLS certificate verify failed"), r.detail


def test_https_verify_fails_with_another_ca(https_port, tls_files):
    r = https(https_port, ca_file=str(tls_files["other_ca"]))
    assert not r.ok and "certificate verify failed" in r.detail


def test_https_with_ca_file_checks_the_ip(https_port, tls_files):
    r = https(https_port, ca_file=str(tls_files["ca"]), receive="hello")
    assert r.ok, r


def test_https_with_ca_file_and_virtualhost(https_port, tls_files):
    ca = str(tls_files["ca"])
    assert https(https_port, ca_file=ca, virtualhost="www.example.test", request="/vhost").ok
    r = https(https_port, ca_file=ca, virtualhost="wrong.example.test")
    assert not r.ok and "hostname mismatch" in r.detail.lower(), r.detail


def test_https_tls_verify_false(https_port):
    r = https(https_port, tls_verify="false", receive="hello")
    assert r.ok, r


def test_https_to_plain_http_server_fails(http_port):
    r = https(http_port, tls_verify="no")
    assert not r.ok and r.detail.startswith("TLS"), r.detail


def test_https_status_and_receive(https_port):
    r = https(https_port, tls_verify="off", request="/status/500")
    assert not r.ok and r.detail == "status 500 not in 200-299"


def test_https_timeout(silent_tcp_port, tls_files):
    r = check("https", "127.0.0.1", silent_tcp_port, {"ca_file": str(tls_files["ca"])}, 0.3)
    assert not r.ok and "timed out" in r.detail


def test_many_concurrent_http_checks(http_port):
    async def main():
        checker = build_checker("http", Target("127.0.0.1", http_port), {"receive": "hello"})
        return await asyncio.gather(*(checker.check(5) for _ in range(100)))
    results = asyncio.run(main())
    assert all(r.ok for r in results), [r for r in results if not r.ok][:3]


def test_https_ca_file_rotation_is_picked_up(https_port, tls_files, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_bytes(tls_files["other_ca"].read_bytes())
    checker = build_checker("https", Target("127.0.0.1", https_port), {"ca_file": str(ca)})
    assert not asyncio.run(checker.check(2)).ok
    ca.write_bytes(tls_files["ca"].read_bytes())
    os.utime(ca, (1, 1))                   # a different mtime, whatever the clock resolution
    assert asyncio.run(checker.check(2)).ok
