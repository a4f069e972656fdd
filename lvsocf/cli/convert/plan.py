"""Model -> cluster plan: resource names, groups and constraints (DESIGN.md).

One group per VIP address (or per fwmark service): its IPVS services, each followed by its
real servers, and the IPaddr2 VIP last -- the service must exist before the VIP arrives and a
group stops in reverse. Services sharing one address share the group, because one address must
be one IPaddr2 resource. With a sync daemon: an IPVSSync promotable clone, every group
colocated with its Promoted instance and started after the promotion.

Names are derived from addresses, deterministic, valid XML IDs, and made unique with -2, -3...
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .diag import Diagnostics
from .mapping import (
    AGENT_REAL,
    AGENT_SERVICE,
    AGENT_SYNC,
    AGENT_VIP,
    CHECK_ONLY_PARAMS,
    CHECK_PARAMS_BY_TYPE,
    OP_MONITOR,
    OPS_SYNC,
    REAL_PARAM_ORDER,
    SERVICE_PARAM_ORDER,
    SYNC_CLONE_META,
    SYNC_PARAM_ORDER,
)
from .model import Config, RealServer, SyncDaemon, VirtualService
from .values import ip_family

Params = list[tuple[str, str]]


@dataclass
class Primitive:
    id: str
    agent: str
    params: Params
    ops: list[Params]
    comments: list[str] = field(default_factory=list)


@dataclass
class Group:
    id: str
    members: list[Primitive]


@dataclass
class Clone:
    id: str
    primitive: Primitive
    meta: Params


@dataclass
class Colocation:
    id: str
    rsc: str
    with_rsc: str
    with_role: str = "Promoted"
    score: str = "INFINITY"


@dataclass
class Order:
    id: str
    first: str
    first_action: str
    then: str
    then_action: str
    kind: str = "Mandatory"


@dataclass
class Plan:
    groups: list[Group] = field(default_factory=list)
    clone: Clone | None = None
    colocations: list[Colocation] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)


@dataclass
class PlanOptions:
    prefix: str = ""
    cidr_netmask: int | None = None  # for IPv4 VIPs whose netmask the source does not give
    sync: SyncDaemon | None = None  # from the command line; overrides the source's


def token(text: str) -> str:
    """An address or host name as part of an XML ID (`.` kept, `:` and others -> `_`)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


class _Names:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.used: set[str] = set()

    def unique(self, base: str) -> str:
        name, i = self.prefix + base, 2
        while name in self.used:
            name, i = f"{self.prefix}{base}-{i}", i + 1
        self.used.add(name)
        return name


def ordered(params: dict[str, str], order: list[str]) -> Params:
    head = [(k, params[k]) for k in order if k in params]
    return head + sorted((k, v) for k, v in params.items() if k not in order)


def _service_base(svc: VirtualService) -> str:
    if svc.fwmark is not None:
        return f"{'fwm6' if svc.family == 'inet6' else 'fwm'}-{svc.fwmark}"
    return f"{svc.protocol}-{token(svc.address or '')}-{svc.port}"


def _group_key(svc: VirtualService) -> tuple[str, str]:
    if svc.fwmark is not None:
        return ("fwmark", _service_base(svc))
    return ("vip", svc.address or "")


def _real_params(svc: VirtualService, rs: RealServer) -> dict[str, str]:
    params = dict(svc.identity())
    params["rip"] = rs.address
    params.update(rs.params)
    allowed = CHECK_PARAMS_BY_TYPE.get(params.get("check_type", "tcp"), set())
    return {k: v for k, v in params.items() if k not in CHECK_ONLY_PARAMS or k in allowed}


def build_plan(config: Config, diags: Diagnostics, options: PlanOptions | None = None) -> Plan:
    opts = options or PlanOptions()
    names = _Names(opts.prefix)
    plan = Plan()
    groups: dict[tuple[str, str], list[VirtualService]] = {}
    for svc in config.services:
        groups.setdefault(_group_key(svc), []).append(svc)
    for (kind, key), services in groups.items():
        members: list[Primitive] = []
        for svc in services:
            base = _service_base(svc)
            members.append(Primitive(names.unique(base), AGENT_SERVICE,
                                     ordered({**svc.identity(), **svc.params},
                                             SERVICE_PARAM_ORDER),
                                     [OP_MONITOR], list(svc.comments)))
            for rs in svc.reals:
                suffix = token(rs.address)
                if rs.port is not None and rs.port != svc.port:
                    suffix += f"-{rs.port}"
                members.append(Primitive(names.unique(f"{base}-rs-{suffix}"), AGENT_REAL,
                                         ordered(_real_params(svc, rs), REAL_PARAM_ORDER),
                                         [OP_MONITOR]))
        if kind == "vip":
            members.append(_vip(names, services, opts, diags))
            group_id = names.unique(f"lvs-{token(key)}")
        else:
            group_id = names.unique(f"lvs-{key}")
            diags.warn(services[0].line, f"fwmark service {key}: its VIP address(es) are not in "
                                         "the source; add IPaddr2 resources at the end of group "
                                         f"{group_id}")
        plan.groups.append(Group(group_id, members))
    sync = opts.sync or config.sync
    if sync is not None:
        prim = Primitive(names.unique("ipvs-sync"), AGENT_SYNC,
                         ordered(sync.params, SYNC_PARAM_ORDER), list(OPS_SYNC))
        plan.clone = Clone(names.unique(f"{prim.id[len(opts.prefix):]}-clone"), prim,
                           list(SYNC_CLONE_META))
        for group in plan.groups:
            short = group.id[len(opts.prefix):]
            plan.colocations.append(Colocation(names.unique(f"col-{short}-with-sync"), group.id,
                                               plan.clone.id))
            plan.orders.append(Order(names.unique(f"ord-sync-then-{short}"), plan.clone.id,
                                     "promote", group.id, "start"))
    return plan


def _vip(names: _Names, services: list[VirtualService], opts: PlanOptions,
         diags: Diagnostics) -> Primitive:
    first = services[0]
    address = first.address or ""
    params = {"ip": address}
    cidr = next((s.vip_cidr for s in services if s.vip_cidr), None)
    nic = next((s.vip_nic for s in services if s.vip_nic), None)
    if cidr is None and opts.cidr_netmask is not None and ip_family(address) == "inet":
        cidr = str(opts.cidr_netmask)
    if cidr is not None:
        params["cidr_netmask"] = cidr
    else:
        diags.warn(first.line, f"VIP {address}: cidr_netmask not known; IPaddr2 derives it from "
                               "the routing table (TODO: set cidr_netmask/nic if it cannot)")
    if nic is not None:
        params["nic"] = nic
    return Primitive(names.unique(f"vip-{token(address)}"), AGENT_VIP,
                     ordered(params, ["ip", "cidr_netmask", "nic"]), [OP_MONITOR])
