"""The virtual-service identity shared by IPVSService and IPVSRealServer: parameters, parsing
into a ServiceKey, and the checks on them. Cheap to import (no pyroute2)."""
from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from lvsocf.agents.errors import ConfigError
from lvsocf.agents.params import Param, Params, Value
from lvsocf.ipvs.model import ServiceKey

GROUP = "service"

PARAMETERS = (
    Param("protocol", "Protocol of the virtual service", """
          tcp, udp or sctp: with vip and port this names the service like ipvsadm's -t, -u and
          --sctp-service. Ignored for fwmark services.""",
          type="select", choices=("tcp", "udp", "sctp"), default="tcp", unique_group=GROUP),
    Param("vip", "Virtual IP address", """
          The virtual IP address (IPv4 or IPv6) clients connect to, as in ipvsadm's
          -t VIP:PORT. The address itself is brought up by ocf:heartbeat:IPaddr2; this agent
          only manages the IPVS table. Leave empty for a fwmark service.""",
          unique_group=GROUP),
    Param("port", "Virtual port", "The virtual port (1-65535). Leave empty for fwmark.",
          type="integer", min=1, max=65535, unique_group=GROUP),
    Param("fwmark", "Firewall mark", """
          A firewall-mark service (ipvsadm -f): packets marked with this value by iptables or
          nftables are balanced together, e.g. several ports of one application. Excludes vip
          and port.""", type="integer", min=1, max=4294967295, unique_group=GROUP),
    Param("family", "Address family of a fwmark service", """
          inet (IPv4) or inet6 (IPv6). Only for fwmark services; for vip services the family
          comes from the address.""",
          type="select", choices=("inet", "inet6"), default="inet", unique_group=GROUP),
)


def service_key(params: Mapping[str, Value]) -> ServiceKey:
    """The ServiceKey the parameters name; ConfigError (exit 6) when they name none."""
    p = Params.of(PARAMETERS, params)
    fwmark, vip, port = params.get("fwmark"), params.get("vip"), params.get("port")
    if fwmark:
        if vip or port:
            raise ConfigError("fwmark excludes vip and port: a fwmark service is named by its "
                              "mark alone")
        return ServiceKey(fwmark=int(fwmark), family=p.text("family"))
    if not vip or port is None:
        raise ConfigError("name the virtual service with vip and port, or with fwmark")
    try:
        address = ipaddress.ip_address(str(vip))
    except ValueError:
        raise ConfigError(f"vip {str(vip)[:60]!r} is not an IPv4 or IPv6 address") from None
    if address.is_multicast or address.is_unspecified:
        raise ConfigError(f"vip {address} is not a unicast address")
    return ServiceKey(protocol=p.text("protocol"), address=str(address), port=int(port))


def parse_hostport(text: str, what: str, default_port: int) -> tuple[str, int]:
    """'10.0.0.5', '10.0.0.5:8080', '[2001:db8::5]:80' or '2001:db8::5'."""
    text = text.strip()
    host, port = text, default_port
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                raise ConfigError(f"{what} {text[:60]!r} is not [ADDRESS]:PORT")
            port = int(rest[1:])
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        if not port_text.isdigit():
            raise ConfigError(f"{what} {text[:60]!r}: the port is not a number")
        port = int(port_text)
    try:
        address = str(ipaddress.ip_address(host))
    except ValueError:
        raise ConfigError(f"{what} {text[:60]!r} is not an address[:port]") from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"{what} {text[:60]!r}: port out of range 0-65535")
    return address, port
