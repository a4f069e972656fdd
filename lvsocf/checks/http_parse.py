"""Parse one HTTP/1.x response out of the bytes received so far.

The checks call parse_response() again each time more bytes arrive (responses to a health
check are small, usually one segment), so there is no parser state to keep between calls.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from .base import CheckFailed

MAX_HEAD = 64 * 1024       # status line + headers
MAX_BODY = 64 * 1024       # body bytes kept for `receive`
_STATUS_LINE = re.compile(rb"HTTP/(\d\.\d) (\d{3})(?: |\r?$)")
_HEAD_END = b"\r\n\r\n"
# The headers that frame a response (the only ones read), found by one scan of the head.
_FRAMING = re.compile(rb"\r\n(content-length|transfer-encoding|connection)[ \t]*:([^\r\n]*)",
                      re.IGNORECASE)


class Response(NamedTuple):
    status: int
    body: bytes         # at most MAX_BODY bytes; b"" unless the body was framed
    reusable: bool      # ends exactly where the data does, and the server keeps the connection


def parse_response(data: bytes, eof: bool, want_body: bool, head_request: bool = False,
                   keep: bool = False) -> Response | None:
    """The response once `data` holds a whole final one (interim 1xx skipped), None while
    more bytes are needed. The body is only framed when `want_body` or `keep`; at most
    MAX_BODY bytes of it are returned. `keep`: the connection is to carry the next request
    if it can (HTTP/1.1, no "Connection: close", a body framed to its exact end), so the
    whole response must be in. `eof`: the server closed its side. Raises CheckFailed."""
    pos = 0
    while True:
        end = data.find(_HEAD_END, pos)
        if end < 0:
            if len(data) - pos > MAX_HEAD:
                raise CheckFailed(f"response headers larger than {MAX_HEAD // 1024} KiB")
            if eof:
                what = "no response" if pos == len(data) else "truncated response headers"
                raise CheckFailed(f"{what} (connection closed)")
            return None
        if end - pos > MAX_HEAD:
            raise CheckFailed(f"response headers larger than {MAX_HEAD // 1024} KiB")
        head = data[pos:end]
        version, status = _status(head)
        pos = end + len(_HEAD_END)
        if not 100 <= status < 200:
            break
    if not (want_body or keep):
        return Response(status, b"", False)     # the headers only matter for framing a body
    headers = _headers(head)
    if head_request or status in (204, 304):
        body, body_end = b"", pos
        if status == 204 and "transfer-encoding" in headers:
            # a 204 must not have Transfer-Encoding (RFC 9112 6.1): a server that sends it
            # may send a chunked body too, which would be read as the next response
            keep = False
    else:
        framed = _frame_body(data, pos, headers, eof)
        if framed is None:
            return None
        body, body_end = framed
    if not keep or body_end != len(data) or version != b"1.1":
        return Response(status, body, False)
    connection = headers.get("connection", "")
    closing = any(token.strip() == "close" for token in connection.lower().split(","))
    return Response(status, body, not closing)


def _status(head: bytes) -> tuple[bytes, int]:
    """(version, status code) from the status line."""
    line_end = head.find(b"\r\n")
    match = _STATUS_LINE.match(head, 0, len(head) if line_end < 0 else line_end)
    if not match:
        raise CheckFailed("not an HTTP response")
    return match.group(1), int(match.group(2))


def _headers(head: bytes) -> dict[str, str]:
    """The framing headers, names lower-cased, repeats joined with ", "."""
    headers: dict[str, str] = {}
    for match in _FRAMING.finditer(head):
        key = match.group(1).lower().decode("latin-1")
        val = match.group(2).strip().decode("latin-1")
        headers[key] = f"{headers[key]}, {val}" if key in headers else val
    return headers


def _frame_body(data: bytes, start: int, headers: dict[str, str],
                eof: bool) -> tuple[bytes, int | None] | None:
    """(body, where the response ends: None when it was not read to its end) with chunked,
    Content-Length or read-until-close framing; None while incomplete."""
    if headers.get("transfer-encoding", "").lower().rsplit(",", 1)[-1].strip() == "chunked":
        framed = _dechunk(data, start)
    elif "content-length" in headers:
        try:
            length = int(headers["content-length"].split(",")[0])
        except ValueError:
            raise CheckFailed("invalid Content-Length") from None
        if length < 0:
            raise CheckFailed("invalid Content-Length")
        want = min(length, MAX_BODY)
        framed = None if len(data) - start < want else \
            (data[start:start + want], start + length if want == length else None)
    else:
        framed = (data[start:start + MAX_BODY], None) \
            if eof or len(data) - start >= MAX_BODY else None
    if framed is None and eof:
        raise CheckFailed("connection closed in the middle of the body")
    return framed


def _dechunk(data: bytes, pos: int) -> tuple[bytes, int | None] | None:
    body = bytearray()
    end: int | None = None
    while len(body) < MAX_BODY:
        line_end = data.find(b"\r\n", pos)
        if line_end < 0:
            if len(data) - pos > 1024:
                raise CheckFailed("malformed chunked body")
            return None
        try:
            size = int(data[pos:line_end].split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise CheckFailed("malformed chunked body") from None
        if size < 0:
            raise CheckFailed("malformed chunked body")
        if size == 0:
            # the end is after the (usually empty) trailer section, if that is in already
            trailers_end = data.find(b"\r\n\r\n", line_end)
            end = trailers_end + 4 if trailers_end >= 0 else None
            break
        pos = line_end + 2
        take = min(size, MAX_BODY - len(body))
        if len(data) - pos < take:
            return None
        body += data[pos:pos + take]
        if take < size:
            break                           # cap reached; the rest is not needed
        if len(data) - (pos + size) < 2:
            return None
        pos += size + 2                     # CRLF after the chunk
    return bytes(body), end
