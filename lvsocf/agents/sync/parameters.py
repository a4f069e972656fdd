"""IPVSSync's parameters and actions as its meta-data declares them, typed access to the
values (defaults from the declarations) and the parsing they share."""
from __future__ import annotations

from collections.abc import Mapping

from lvsocf.agents.base import Action, ConfigError, Param
from lvsocf.agents.params import Params, Value

MAX_TIMEOUT = 2147483       # s: what fits the kernel's jiffies arithmetic

PARAMETERS = (
    Param("interface", "Sync interface", """
          The interface the sync daemons send and receive multicast on (ipvsadm
          --mcast-interface). It needs an IPv4 address (for an IPv4 group) and should be a
          dedicated link or VLAN between the directors.""", required=True),
    Param("syncid", "Sync ID", """
          Sync ID (0-255) stamped on every sync message; a backup ignores messages with another
          ID, except that a backup with ID 0 accepts all. Give every LVS cluster on a shared
          segment its own ID.""", type="integer", default=0, min=0, max=255),
    Param("mcast_group", "Multicast group", """
          IPv4 or IPv6 multicast group for sync messages. Empty: the kernel's 224.0.0.81.""",
          default=""),
    Param("mcast_port", "Multicast UDP port", "Empty: the kernel's 8848.",
          type="integer", min=1, max=65535),
    Param("mcast_ttl", "Multicast TTL", "Empty: the kernel's 1 (the local segment only).",
          type="integer", min=1, max=255),
    Param("maxlen", "Maximum sync message length", """
          Largest sync message payload in bytes (ipvsadm --sync-maxlen). Empty: derived from
          the interface MTU by the kernel.""", type="integer", min=1, max=65507),
    Param("sync_threshold", "net.ipv4.vs.sync_threshold", """
          "THRESHOLD PERIOD": sync a connection when its inbound packet count modulo PERIOD
          equals THRESHOLD. The default "0 0" leaves syncing to sync_refresh_period, which is
          what keeps idle long-lived connections (keepalives only) alive on the backup; the
          kernel's "3 50" resends such a connection so rarely that its backup copy expires.""",
          default="0 0", reloadable=True),
    Param("sync_refresh_period", "net.ipv4.vs.sync_refresh_period (seconds)", """
          Resend a connection on its first packet at least this many seconds after its last
          sync (the kernel uses at most half the connection's timeout). Must be shorter than
          the TCP established timeout. 0 = the kernel's packet-count mode only.""",
          type="integer", default=10, min=0, max=MAX_TIMEOUT, reloadable=True),
    Param("sync_retries", "net.ipv4.vs.sync_retries", """
          Extra resends (0-3) of a connection within one refresh period, each at least
          1/8 of the period apart, for lossy sync links.""",
          type="integer", default=0, min=0, max=3, reloadable=True),
    Param("backup_only", "net.ipv4.vs.backup_only on unpromoted nodes", """
          While the backup daemon runs, do not act as a director (packets go to the local
          stack). This stops forwarding loops when directors are also DR/TUN real servers.
          Applied on unpromoted nodes only: the promoted node always gets 0, or it would
          not balance at all.""", type="boolean", default=True, reloadable=True),
    Param("sloppy_tcp", "net.ipv4.vs.sloppy_tcp", """
          Let IPVS create connections from any TCP packet, not only SYN: a connection that
          is missing after failover is scheduled again instead of being reset by the local
          stack. Only safe when every real server could take it (e.g. sh/mh scheduling).""",
          type="boolean", default=False, reloadable=True),
    Param("timeout_tcp", "IPVS TCP established timeout (seconds)", """
          ipvsadm --set tcp. Empty: leave the kernel's value (900).""",
          type="integer", min=1, max=MAX_TIMEOUT, reloadable=True),
    Param("timeout_tcpfin", "IPVS TCP FIN_WAIT timeout (seconds)", """
          ipvsadm --set tcpfin. Empty: leave the kernel's value (120).""",
          type="integer", min=1, max=MAX_TIMEOUT, reloadable=True),
    Param("timeout_udp", "IPVS UDP timeout (seconds)", """
          ipvsadm --set udp. Empty: leave the kernel's value (300).""",
          type="integer", min=1, max=MAX_TIMEOUT, reloadable=True),
    Param("warmup", "Warm-up period (seconds)", """
          How long the backup daemon must have run before this node gets the full promotion
          score. Empty: sync_refresh_period + the TCP established timeout + 5 s, the time
          after which every connection still alive on the master has been resent (a live
          connection sends at least one packet per established timeout). Until then a
          returning director scores lower and does not take the promoted role back.""",
          type="integer", min=0, max=MAX_TIMEOUT, reloadable=True),
)

ACTIONS = (
    Action("start", 30), Action("stop", 30),
    Action("promote", 30), Action("demote", 30), Action("notify", 30),
    Action("monitor", 30, interval=10, role="Promoted"),
    Action("monitor", 30, interval=11, role="Unpromoted"),
    Action("reload-agent", 30),
    Action("meta-data", 5),
    Action("validate-all", 20, depth=0), Action("validate-all", 20, depth=10),
)


def typed(params: Mapping[str, Value]) -> Params:
    """The values with IPVSSync's declarations: their accessors give the declared defaults."""
    return Params.of(PARAMETERS, params)


def sync_threshold(params: Mapping[str, Value]) -> tuple[int, int]:
    """The sync_threshold parameter as (THRESHOLD, PERIOD)."""
    return parse_threshold(typed(params).text("sync_threshold"))


def parse_threshold(raw: str) -> tuple[int, int]:
    """'3 50' -> (3, 50), with the kernel's rule: threshold < period unless period is 0."""
    words = str(raw).split()
    if len(words) != 2 or not all(w.isascii() and w.isdigit() and len(w) < 10 for w in words):
        raise ConfigError(f"sync_threshold {str(raw)[:30]!r} is not two numbers "
                          "\"THRESHOLD PERIOD\" (e.g. \"0 0\" or \"3 50\")")
    threshold, period = int(words[0]), int(words[1])
    if period and threshold >= period:
        raise ConfigError(f"sync_threshold {threshold} {period}: the threshold must be below "
                          "the period (or the period 0)")
    return threshold, period
