"""IPVSSync's validation: what cannot work on any host (depth 0: check_config) and what does
not on this one (depth 10: check_host), and the combinations that work but lose idle
long-lived connections on the backup (warnings)."""
from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping

from lvsocf.agents import kernel
from lvsocf.agents.base import ArgsError, ConfigError, InstalledError
from lvsocf.agents.params import Value
from lvsocf.agents.sync.parameters import sync_threshold, typed
from lvsocf.net.interfaces import interface_exists, ipv4_address


def validate(params: Mapping[str, Value], depth: int) -> None:
    """The agent's validate(): depth 0 the configuration, depth 10 also this host."""
    check_config(params)
    if depth < 10:
        return
    if not kernel.loaded() and not kernel.module_available("ip_vs"):
        raise InstalledError("IPVS is not available in this kernel (module ip_vs missing)")
    p = typed(params)
    tcp_timeout = None
    if not p.integer("timeout_tcp") and p.integer("sync_refresh_period"):
        with kernel.ipvs() as k:
            tcp_timeout = k.timeouts().tcp
    check_host(params, tcp_timeout)


def check_config(params: Mapping[str, Value]) -> None:
    """Depth-0 validation: what cannot work on any host (ConfigError, exit 6)."""
    p = typed(params)
    if not p.text("interface").strip():
        raise ConfigError("interface is required: the sync link the daemons use")
    threshold, period = sync_threshold(p)
    refresh = p.integer("sync_refresh_period")
    if not refresh and not period and not threshold:
        raise ConfigError("sync_threshold \"0 0\" with sync_refresh_period 0 never syncs an "
                          "established connection: set sync_refresh_period (e.g. 10)")
    timeout_tcp = p.integer("timeout_tcp")
    if refresh and timeout_tcp and refresh >= timeout_tcp:
        raise ConfigError(f"sync_refresh_period {refresh} s is not shorter than timeout_tcp "
                          f"{timeout_tcp} s: backup copies would expire between refreshes")
    group = p.text("mcast_group").strip()
    if group:
        try:
            address = ipaddress.ip_address(group)
        except ValueError:
            raise ConfigError(f"mcast_group {group[:40]!r} is not an IP address") from None
        if not address.is_multicast:
            raise ConfigError(f"mcast_group {group} is not a multicast address "
                              "(224.0.0.0/4 or ff00::/8)")
    clone_node_max = os.environ.get("OCF_RESKEY_CRM_meta_clone_node_max", "1")
    if clone_node_max.isdigit() and int(clone_node_max) > 1:
        raise ConfigError("clone-node-max must be 1: a node has one master and one backup "
                          "sync daemon")


def check_host(params: Mapping[str, Value], kernel_tcp_timeout: int | None) -> None:
    """Depth-10 validation: the interface and the kernel of this host."""
    p = typed(params)
    interface = p.text("interface")
    if not interface_exists(interface):
        raise ArgsError(f"interface {interface[:40]!r} does not exist on this host")
    group = p.text("mcast_group").strip()
    if not group or ipaddress.ip_address(group).version == 4:
        try:
            address = ipv4_address(interface)
        except OSError as err:
            raise ArgsError(f"interface {interface}: {err.strerror}") from None
        if address is None:
            raise ArgsError(f"interface {interface} has no IPv4 address: the sync daemons "
                            "need one to send and receive IPv4 multicast")
    refresh = p.integer("sync_refresh_period")
    if not p.integer("timeout_tcp") and kernel_tcp_timeout and refresh >= kernel_tcp_timeout:
        raise ArgsError(f"sync_refresh_period {refresh} s is not shorter than this kernel's "
                        f"TCP established timeout {kernel_tcp_timeout} s (set timeout_tcp)")


def warnings(params: Mapping[str, Value]) -> list[str]:
    """Combinations that work but do not keep idle long-lived connections on the backup."""
    out = []
    threshold, period = sync_threshold(params)
    refresh = typed(params).integer("sync_refresh_period")
    if refresh and period:
        out.append(f"sync_threshold {threshold} {period} with sync_refresh_period {refresh}: "
                   "a connection is resent only when both agree, so idle long-lived "
                   "connections expire on the backup; use sync_threshold \"0 0\"")
    if not refresh:
        out.append("sync_refresh_period 0: connections are synced by packet count only; "
                   "idle long-lived connections expire on the backup")
    return out
