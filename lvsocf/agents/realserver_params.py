"""IPVSRealServer's parameters (its meta-data): identity, real server, check, drain."""
from __future__ import annotations

import copy
from typing import Any

from lvsocf.agents import identity
from lvsocf.agents.base import Param
from lvsocf.checks import CHECK_KINDS

GROUP = "realserver"
CHECK_OPTIONS = ("check_address", "check_port", "http_method", "request", "virtualhost",
                 "status_codes", "receive", "tls_verify", "ca_file", "reuse_connection",
                 "udp_payload", "udp_expect", "dns_query", "dns_type", "external_command")


def _regrouped(p: Param) -> Param:
    """The shared identity parameter, made part of this agent's unique-group: one real server
    per (service, rip, rport)."""
    q = copy.copy(p)
    q.unique_group = GROUP
    return q


def _check(name: str, shortdesc: str, longdesc: str, **kw: Any) -> Param:
    return Param(name, shortdesc, longdesc, reloadable=True, **kw)


PARAMETERS = tuple(_regrouped(p) for p in identity.PARAMETERS) + (
    Param("rip", "Real server address", """
          The real server's IPv4 or IPv6 address (ipvsadm -r).""",
          required=True, unique_group=GROUP),
    Param("rport", "Real server port", """
          The real server's port; defaults to the service port. Only method masq (NAT) can
          map to another port; leave it unset for fwmark services with gate or ipip.""",
          type="integer", min=0, max=65535, unique_group=GROUP),
    Param("method", "Forwarding method", """
          gate (direct routing, ipvsadm -g), masq (NAT, -m) or ipip (tunnel, -i).""",
          type="select", choices=("gate", "masq", "ipip"), default="gate", reloadable=True),
    Param("weight", "Weight", """
          The weight while the real server is healthy (ipvsadm -w). 0 takes no new
          connections (quiescent) but keeps it in the table.""",
          type="integer", min=0, max=65535, default=1, reloadable=True),
    Param("u_threshold", "Upper connection threshold", """
          No new connections above this many (ipvsadm -x); 0 = no limit.""",
          type="integer", min=0, max=2147483647, default=0, reloadable=True),
    Param("l_threshold", "Lower connection threshold", """
          Back in service below this many after the upper threshold was hit (ipvsadm -y).""",
          type="integer", min=0, max=2147483647, default=0, reloadable=True),
    Param("initial_weight", "Weight before the first verdict", """
          The weight a newly started real server gets until its checks have reached a verdict
          (rise successes or fall failures). Unset: 0, no traffic before it is proven healthy
          (keepalived's alpha). Set it to the weight to serve at once and be taken out only by
          failures.""", type="integer", min=0, max=65535, reloadable=True),
    _check("check_type", "Health check", f"""
          How the real server is checked: {', '.join(CHECK_KINDS)}. none keeps it up
          without probing. tcp connects (and resets); tcp-half-open only sends a SYN and
          takes the SYN-ACK, so the backend's application never sees a connection.""",
          type="select", choices=CHECK_KINDS, default="tcp"),
    _check("check_address", "Check address", """
          Probe this address instead of rip (e.g. a management address).""", default=""),
    _check("check_port", "Check port", """
          Probe this port instead of rport (tcp, http, https, udp, dns).""",
          type="integer", min=1, max=65535),
    _check("check_interval", "Check interval", """
          Time between the starts of two checks (seconds, or with a unit: 500ms, 1m).""",
          type="time", min=0.1, max=86400, default=5),
    _check("check_timeout", "Check timeout", """
          A check that has not succeeded within this time failed.""",
          type="time", min=0.01, max=3600, default=3),
    _check("rise", "Rise", """
          Consecutive successes that make a down (or new) real server up.""",
          type="integer", min=1, max=1000, default=2),
    _check("fall", "Fall", """
          Consecutive failures that make an up (or new) real server down.""",
          type="integer", min=1, max=1000, default=3),
    _check("http_method", "HTTP method", "GET or HEAD (http, https).",
           type="select", choices=("GET", "HEAD"), default="GET"),
    _check("request", "HTTP request path", "The path requested (http, https).",
           default="/"),
    _check("virtualhost", "HTTP virtual host", """
          Host header and TLS server name (http, https); default the address.""", default=""),
    _check("status_codes", "Accepted HTTP status codes", """
          Codes and ranges that count as up, e.g. 200-299,301 (http, https).""",
          default="200-299"),
    _check("receive", "Expected response", """
          A regular expression the HTTP body (http, https) or a DNS answer (dns) must
          match.""", default=""),
    _check("tls_verify", "Verify TLS", """
          Verify the real server's certificate chain and name (https).""",
          type="boolean", default=True),
    _check("ca_file", "CA bundle", """
          PEM file of CA certificates to verify against instead of the system store
          (https).""", default=""),
    _check("reuse_connection", "Reuse the HTTP connection", """
          Send the next check's request on the connection of the last one when the server
          keeps it open (http; as Envoy's health checks do). Saves the director and the real
          server a TCP handshake per check; a new connection is opened after a failed check
          or when the server closes it. Off: every check proves a new connection.""",
           type="boolean", default=False),
    _check("udp_payload", "UDP payload", "Hex bytes sent by the udp check.", default=""),
    _check("udp_expect", "Expected UDP reply", """
          Hex prefix the reply must start with (udp). Unset: up unless an ICMP port
          unreachable comes back.""", default=""),
    _check("dns_query", "DNS query name", "Name queried by the dns check (default .).",
           default=""),
    _check("dns_type", "DNS query type", "A, AAAA, NS, SOA, MX, TXT, CNAME or PTR (dns).",
           default=""),
    _check("external_command", "External check command", """
          Command run by the external check: shell-quoted words, never run through a
          shell; exit status 0 = up. It gets LVSOCF_RIP, LVSOCF_RPORT and LVSOCF_TIMEOUT.
          Never logged.""", default=""),
    Param("failure_action", "What a failure does", """
          quiescent: weight 0, the entry stays (existing connections continue; ldirectord's
          quiescent=yes, keepalived's inhibit_on_failure). remove: the entry is deleted and
          re-added when the real server is back.""",
          type="select", choices=("quiescent", "remove"), default="quiescent",
          reloadable=True),
    Param("drain_timeout", "Drain time on stop", """
          On stop the real server first gets weight 0 and is removed once its active
          connections have ended, or after this long (0: removed at once). Bounded by the
          stop operation's timeout.""",
          type="time", min=0, max=86400, default=10, reloadable=True),
)
