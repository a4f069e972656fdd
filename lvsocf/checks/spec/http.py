"""The parameters and options of check_type=http and https (lvsocf.checks.http)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lvsocf.agents.params import Param

from .options import CheckOptions

RECEIVE = Param("receive", "Expected response", """
          A regular expression the HTTP body (http, https) or a DNS answer (dns) must
          match.""", default="")

PARAMETERS = (
    Param("http_method", "HTTP method", "GET or HEAD (http, https).",
          type="select", choices=("GET", "HEAD"), default="GET"),
    Param("request", "HTTP request path", "The path requested (http, https).", default="/"),
    Param("virtualhost", "HTTP virtual host", """
          Host header and TLS server name (http, https); default the address.""", default=""),
    Param("status_codes", "Accepted HTTP status codes", """
          Codes and ranges that count as up, e.g. 200-299,301 (http, https).""",
          default="200-299"),
    RECEIVE,
    Param("tls_verify", "Verify TLS", """
          Verify the real server's certificate chain and name (https).""",
          type="boolean", default=True),
    Param("ca_file", "CA bundle", """
          PEM file of CA certificates to verify against instead of the system store
          (https).""", default=""),
    Param("reuse_connection", "Reuse the HTTP connection", """
          Send the next check's request on the connection of the last one when the server
          keeps it open (http; as Envoy's health checks do). Saves the director and the real
          server a TCP handshake per check; a new connection is opened after a failed check
          or when the server closes it. Off: every check proves a new connection.""",
          type="boolean", default=False),
)


@dataclass(frozen=True)
class HttpOptions(CheckOptions):
    """http and https: the request, what counts as up, TLS and connection reuse."""

    USES: ClassVar[tuple[Param, ...]] = PARAMETERS
    http_method: str
    request: str
    virtualhost: str
    status_codes: str
    receive: str
    tls_verify: bool
    ca_file: str
    reuse_connection: bool
