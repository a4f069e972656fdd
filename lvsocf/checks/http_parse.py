"""Parse one HTTP/1.x response out of the bytes received so far.

The checks call parse_response() again each time more bytes arrive (responses to a health
check are small, usually one segment), so there is no parser state to keep between calls.
"""
from __future__ import annotations

import re

from .base import CheckFailed

MAX_HEAD = 64 * 1024       # status line + headers
MAX_BODY = 64 * 1024       # body bytes kept for `receive`
_STATUS_LINE = re.compile(rb"HTTP/(\d)\.(\d) (\d{3})(?: |\r?$)")
_HEAD_END = b"\r\n\r\n"


def parse_response(data: bytes, eof: bool, want_body: bool,
                   head_request: bool = False) -> tuple[int, bytes] | None:
    """(status, body) once `data` holds a whole final response (interim 1xx skipped), None
    while more bytes are needed. The body is only framed when `want_body`; at most MAX_BODY
    bytes of it are returned. `eof`: the server closed its side. Raises CheckFailed."""
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
        status = _status(head)
        pos = end + len(_HEAD_END)
        if not 100 <= status < 200:
            break
    if not want_body or head_request or status in (204, 304):
        return status, b""      # the headers only matter for framing a body
    body = _frame_body(data, pos, _headers(head), eof)
    return None if body is None else (status, body)


def _status(head: bytes) -> int:
    line_end = head.find(b"\r\n")
    match = _STATUS_LINE.match(head, 0, len(head) if line_end < 0 else line_end)
    if not match:
        raise CheckFailed("not an HTTP response")
    return int(match.group(3))


def _headers(head: bytes) -> dict[str, str]:
    """Header names lower-cased, repeats joined with ", "."""
    headers: dict[str, str] = {}
    for line in head.split(b"\r\n")[1:]:
        name, sep, value = line.partition(b":")
        if sep:
            key = name.strip().lower().decode("latin-1")
            val = value.strip().decode("latin-1")
            headers[key] = f"{headers[key]}, {val}" if key in headers else val
    return headers


def _frame_body(data: bytes, start: int, headers: dict[str, str], eof: bool) -> bytes | None:
    """Chunked, Content-Length, or read-until-close framing; None while incomplete."""
    if headers.get("transfer-encoding", "").lower().rsplit(",", 1)[-1].strip() == "chunked":
        body = _dechunk(data, start)
    elif "content-length" in headers:
        try:
            length = int(headers["content-length"].split(",")[0])
        except ValueError:
            raise CheckFailed("invalid Content-Length") from None
        if length < 0:
            raise CheckFailed("invalid Content-Length")
        want = min(length, MAX_BODY)
        body = data[start:start + want] if len(data) - start >= want else None
    else:
        body = data[start:start + MAX_BODY] if eof or len(data) - start >= MAX_BODY else None
    if body is None and eof:
        raise CheckFailed("connection closed in the middle of the body")
    return body


def _dechunk(data: bytes, pos: int) -> bytes | None:
    body = bytearray()
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
    return bytes(body)
