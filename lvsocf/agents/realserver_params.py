"""IPVSRealServer's parameters (its meta-data): identity, real server, check (declared by the
check kinds: lvsocf.checks.spec), drain."""
from __future__ import annotations

import copy

from lvsocf.agents import identity
from lvsocf.agents.base import Param
from lvsocf.checks import spec

GROUP = "realserver"
#: the parameters a record carries as its check's options (the rest: kind and timing)
CHECK_OPTIONS = spec.OPTION_NAMES


def _regrouped(p: Param) -> Param:
    """The shared identity parameter, made part of this agent's unique-group: one real server
    per (service, rip, rport)."""
    q = copy.copy(p)
    q.unique_group = GROUP
    return q


def _reloadable(p: Param) -> Param:
    """A check parameter (declared by lvsocf.checks.spec): reload-agent changes the check
    live, keeping the health state."""
    q = copy.copy(p)
    q.reloadable = True
    return q


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
    *(_reloadable(p) for p in spec.PARAMETERS),     # each check kind declares its own
    Param("failure_action", "What a failure does", """
          quiescent: weight 0, the entry stays (existing connections continue; ldirectord's
          quiescent=yes, keepalived's inhibit_on_failure). remove: the entry is deleted and
          re-added when the real server is back.""",
          type="select", choices=("quiescent", "remove"), default="quiescent",
          reloadable=True),
    Param("slow_start", "Slow start", """
          Seconds over which a real server that comes up (newly added, or recovered) ramps its
          weight from 1 to its configured weight, a step at least every second; 0 = off (the
          whole weight at once). With wlc or lc a server with no connections otherwise gets
          every new connection until it holds as many as the others. Failing checks that do
          not yet take it down pause the ramp.""",
          type="time", min=0, max=86400, default=0, reloadable=True),
    Param("drain_timeout", "Drain time on stop", """
          On stop the real server first gets weight 0 and is removed once its active
          connections have ended, or after this long (0: removed at once). Bounded by the
          stop operation's timeout.""",
          type="time", min=0, max=86400, default=10, reloadable=True),
)
