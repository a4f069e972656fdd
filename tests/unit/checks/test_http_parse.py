"""parse_response: whole responses, every prefix of them (bytes arrive in pieces), and junk."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lvsocf.checks.base import CheckFailed
from lvsocf.checks.http_parse import MAX_BODY, MAX_HEAD, parse_response

bodies = st.binary(max_size=300) | st.just(b"y" * (MAX_BODY + 10))


@st.composite
def responses(draw) -> tuple[bytes, int, bytes, str]:
    """(wire bytes, status, body, framing)."""
    status = draw(st.sampled_from([200, 204, 301, 404, 503]))
    body = b"" if status == 204 else draw(bodies)
    framing = draw(st.sampled_from(["length", "chunked", "close"]))
    interim = draw(st.sampled_from([b"", b"HTTP/1.1 100 Continue\r\n\r\n",
                                    b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"]))
    head = f"HTTP/1.1 {status} Whatever\r\nServer: test\r\n".encode()
    if framing == "length":
        wire = head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
    elif framing == "chunked":
        wire = head + b"Transfer-Encoding: chunked\r\n\r\n"
        rest = body
        while rest:
            size = draw(st.integers(1, max(1, len(rest))))
            wire += f"{size:x}\r\n".encode() + rest[:size] + b"\r\n"
            rest = rest[size:]
        wire += b"0\r\n\r\n"
    else:
        wire = head + b"Connection: close\r\n\r\n" + body
    return interim + wire, status, body[:MAX_BODY], framing


@settings(max_examples=150, deadline=None)
@given(responses(), st.data())
def test_every_prefix_waits_or_agrees_with_the_whole(response, data):
    wire, status, body, framing = response
    assert parse_response(wire, True, want_body=True)[:2] == (status, body)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=12)))
    for cut in cuts:
        got = parse_response(wire[:cut], False, want_body=True)
        if got is not None:          # decided early: only because the body cap was reached
            assert got[:2] == (status, body), cut   # or the framing says it is complete
        if framing != "close" and cut < len(wire) and got is None:
            with pytest.raises(CheckFailed):         # the server hung up too soon
                parse_response(wire[:cut], True, want_body=True)


@given(responses())
def test_status_only_needs_no_body(response):
    wire, status, _, _ = response
    end = wire.index(b"\r\n\r\n", wire.index(f"HTTP/1.1 {status} ".encode())) + 4
    assert parse_response(wire[:end], False, want_body=False) == (status, b"", False)


def test_head_request_has_no_body_to_wait_for():
    wire = b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n"
    assert parse_response(wire, False, want_body=True, head_request=True)[:2] == (200, b"")
    assert parse_response(wire, False, want_body=True) is None


@pytest.mark.parametrize("wire,eof,reason", [
    (b"220 smtp ready\r\n\r\n", False, "not an HTTP response"),
    (b"", True, "no response (connection closed)"),
    (b"HTTP/1.1 200 OK\r\nServer: x", True, "truncated response headers (connection closed)"),
    (b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * (MAX_HEAD // 5), False, "headers larger than"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\n", False, "invalid Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", False, "invalid Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort", True, "middle of the body"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", False, "malformed chunked"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1" * 2000, False,
     "malformed chunked"),
])
def test_junk_is_a_clear_failure(wire, eof, reason):
    with pytest.raises(CheckFailed, match=re.escape(reason)):
        parse_response(wire, eof, want_body=True)


@settings(max_examples=150, deadline=None)
@given(responses(), st.data())
def test_keep_reuses_only_a_response_read_to_its_exact_end(response, data):
    """keep=True: the connection may carry the next request only when the whole response is
    in, framed by length or chunks, and nothing follows it."""
    wire, status, body, framing = response
    whole = parse_response(wire, False, want_body=False, keep=True)
    if status == 204:               # no body: what follows the headers is not part of it
        assert whole == (204, b"", framing == "length")
    elif framing == "close":                    # read until the server closes (or the cap)
        assert whole == (None if len(body) < MAX_BODY else (status, body, False))
        assert parse_response(wire, True, False, keep=True) == (status, body, False)
    else:
        assert whole == (status, body, len(body) < MAX_BODY)
    assert not parse_response(wire + b"HTTP/1.1 200 OK\r\n", True, False, keep=True).reusable
    for cut in sorted(data.draw(st.lists(st.integers(0, len(wire) - 1), max_size=12))):
        early = parse_response(wire[:cut], False, want_body=False, keep=True)
        assert early is None or not early.reusable, cut


@pytest.mark.parametrize("wire,reusable", [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", True),
    (b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", True),
    (b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\nContent-Length: 0\r\n\r\n", False),
    (b"HTTP/1.1 200 OK\r\nconnection:close\r\nContent-Length: 0\r\n\r\n", False),
    (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", False),
    (b"HTTP/1.1 204 No Content\r\n\r\n", True),
    # found by hypothesis: a 204 with Transfer-Encoding may be followed by a chunked body
    (b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n", False),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", True),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n\r\n", True),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n", False),  # CRLF to come
])
def test_keep_follows_the_servers_word(wire, reusable):
    assert parse_response(wire, False, want_body=False, keep=True).reusable is reusable
