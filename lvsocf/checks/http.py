"""check_type=http|https: one HTTP/1.1 request, no threads. Plain HTTP runs on the shared
epoll reactor (streams.py); HTTPS on asyncio's TLS streams. Both parse with http_parse.py.

Options: http_method (GET|HEAD), request (path, default /), virtualhost (Host header and TLS
server name; default the address), status_codes (default 200-299, e.g. "200,301,302-304"),
receive (regex searched in the first 64 KiB of the body), tls_verify (default true: chain and
hostname/IP are verified), ca_file (PEM CA bundle used instead of the system store),
reuse_connection (http only, default false: each check opens a new connection; true: a
connection the server keeps open carries the next check's request, as Envoy's health checks
do by default; a failed check, or a response not framed to its end, closes it).
The request carries no credentials; details never include headers or body text.
"""
from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import ssl
from collections.abc import Mapping
from typing import Any, ClassVar

from . import streams
from .base import (
    CheckConfigError,
    CheckFailed,
    CheckResult,
    Target,
    TaskChecker,
    check_address,
    check_port,
    guarded,
    parse_regex,
    socket_address,
)
from .http_parse import parse_response
from .spec.http import HttpOptions

_TOKEN_SAFE = re.compile(r"[\x21-\x7e]+")   # printable ASCII, no space: request target, host
_HOSTNAME = re.compile(r"[A-Za-z0-9._-]+")


def parse_status_codes(text: str) -> frozenset[int]:
    """ "200-299" or "200,301,302-304" -> the set of codes. Raises CheckConfigError."""
    codes: set[int] = set()
    for part in text.replace(" ", "").split(","):
        low, sep, high = part.partition("-")
        try:
            first = int(low)
            last = int(high) if sep else first
        except ValueError:
            raise CheckConfigError(
                f"status_codes: expected codes or ranges like '200-299,301', got {text!r}") \
                from None
        if not 100 <= first <= last <= 599:
            raise CheckConfigError(f"status_codes: {part!r} is not a range within 100-599")
        codes.update(range(first, last + 1))
    return frozenset(codes)


_CONTEXTS: dict[tuple[bool, str, float], ssl.SSLContext] = {}


def tls_context(verify: bool, ca_file: str) -> ssl.SSLContext:
    """A shared client context (building one costs milliseconds and loads the CA store)."""
    mtime = os.stat(ca_file).st_mtime if verify and ca_file else 0.0
    key = (verify, ca_file if verify else "", mtime)
    ctx = _CONTEXTS.get(key)
    if ctx is None:
        if verify:
            ctx = ssl.create_default_context(cafile=ca_file or None)
        else:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        for stale in [k for k in _CONTEXTS if k[:2] == key[:2]]:
            del _CONTEXTS[stale]            # the CA file changed: forget the old context
        _CONTEXTS[key] = ctx
    return ctx


class _HttpRequest:
    """Options, request bytes and verdict shared by the http and https checks."""

    kind: ClassVar[str]
    tls: ClassVar[bool]

    def __init__(self, target: Target, options: HttpOptions | Mapping[str, Any]) -> None:
        opts = HttpOptions.of(options)
        default_port = 443 if self.tls else 80
        self.address = check_address(target)
        self.port = check_port(target, default_port)
        self.family, self.sockaddr = socket_address(self.address, self.port)
        self.method = opts.http_method.upper()
        if self.method not in ("GET", "HEAD"):
            raise CheckConfigError(f"http_method: expected GET or HEAD, got {self.method!r}")
        path = opts.request
        if not _TOKEN_SAFE.fullmatch(path):
            raise CheckConfigError("request: a path without spaces or control characters")
        self.path = path if path.startswith("/") else "/" + path
        vhost = opts.virtualhost
        if vhost and not _HOSTNAME.fullmatch(vhost):
            raise CheckConfigError(f"virtualhost: expected a host name, got {vhost!r}")
        self.codes_text = opts.status_codes
        self.codes = parse_status_codes(self.codes_text)
        self.receive = parse_regex("receive", opts.receive)
        self.verify = opts.tls_verify
        self.ca_file = opts.ca_file
        self.reuse = opts.reuse_connection
        if self.reuse and self.tls:
            raise CheckConfigError("reuse_connection: only for check_type=http")
        if self.tls and self.verify and self.ca_file and not os.path.isfile(self.ca_file):
            raise CheckConfigError(f"ca_file: {self.ca_file!r} is not a file")
        bare = self.address.partition("%")[0]           # no IPv6 scope id in names
        self.server_name = vhost or bare
        host = vhost or (f"[{bare}]" if ipaddress.ip_address(bare).version == 6 else bare)
        if self.port != default_port:
            host = f"{host}:{self.port}"
        closing = "" if self.reuse else "Connection: close\r\n"
        self.request = (f"{self.method} {self.path} HTTP/1.1\r\nHost: {host}\r\n"
                        f"User-Agent: lvsocf-check\r\nAccept: */*\r\n{closing}"
                        "\r\n").encode("ascii")

    def decide(self, data: bytes, eof: bool) -> str | None:
        """The verdict on the response bytes so far (None: read more); raises CheckFailed."""
        response = parse_response(data, eof, self.receive is not None, self.method == "HEAD",
                                  self.reuse)
        if response is None:
            return None
        status, body, reusable = response
        if status not in self.codes:
            raise CheckFailed(f"status {status} not in {self.codes_text}")
        if self.receive is not None and not self.receive.search(body.decode("utf-8", "replace")):
            raise CheckFailed(f"status {status}, body does not match receive")
        return streams.KeepOpen(f"status {status}") if reusable else f"status {status}"


class HttpChecker(_HttpRequest, streams.OnReactor):
    kind: ClassVar[str] = "http"
    tls: ClassVar[bool] = False


class HttpsChecker(_HttpRequest, TaskChecker):
    kind: ClassVar[str] = "https"
    tls: ClassVar[bool] = True

    async def check(self, timeout: float) -> CheckResult:
        return await guarded(self._probe, timeout)

    async def _probe(self) -> str:
        try:
            ctx = tls_context(self.verify, self.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise CheckFailed(f"ca_file: cannot load: {exc.strerror or exc}") from None
        try:
            reader, writer = await asyncio.open_connection(
                self.address, self.port, ssl=ctx, server_hostname=self.server_name)
        except ssl.SSLCertVerificationError as exc:
            raise CheckFailed(f"TLS certificate verify failed: {exc.verify_message}") from None
        except ssl.SSLError as exc:
            raise CheckFailed(f"TLS handshake failed: {exc.reason or exc}") from None
        try:
            writer.write(self.request)
            data = b""
            while True:
                chunk = await reader.read(65536)
                data += chunk
                detail = streams.verdict(self, data, eof=not chunk)
                if detail is not None:
                    return detail
        finally:
            writer.close()
