"""Model -> cluster plan: resource names, clones and constraints (the hot-standby layout of
crm-examples/README.md and DESIGN.md).

Every IPVS service and every real server is a clone, so every director keeps the whole
table loaded and health-checked; each real server runs where its service runs and starts
after it. One IPaddr2 per VIP address (services sharing an address share it, because two
IPaddr2 resources for one address would remove each other's address on stop), not cloned,
colocated with and ordered after each of its services. With a sync daemon: an IPVSSync
promotable clone; the first VIP is the active director: the other VIPs and the Promoted
instance are colocated with it, and every VIP starts after the promotion. Without one, the VIP
alone marks the active director.

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
    REAL_CLONE_META,
    REAL_LAYOUT_PARAMS,
    REAL_ORDER_KIND,
    REAL_PARAM_ORDER,
    SERVICE_CLONE_META,
    SERVICE_META,
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
    meta: Params = field(default_factory=list)


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
    with_role: str = ""
    score: str = "INFINITY"
    rsc_role: str = ""


@dataclass
class Order:
    id: str
    first: str
    first_action: str
    then: str
    then_action: str
    kind: str = "Mandatory"


@dataclass
class ScoreRule:
    """A location constraint whose score on each node is that node's ATTRIBUTE, where set."""
    id: str
    rsc: str
    attribute: str


@dataclass
class Table:
    """The resources of one VIP address (or one fwmark service): each service's clone
    followed by its real servers' clones, and the VIP (None for fwmark services)."""
    clones: list[Clone]
    vip: Primitive | None


@dataclass
class Plan:
    tables: list[Table] = field(default_factory=list)
    sync: Clone | None = None
    colocations: list[Colocation] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    locations: list[ScoreRule] = field(default_factory=list)


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


def _table_key(svc: VirtualService) -> tuple[str, str]:
    if svc.fwmark is not None:
        return ("fwmark", _service_base(svc))
    return ("vip", svc.address or "")


def _real_params(svc: VirtualService, rs: RealServer) -> dict[str, str]:
    params = dict(svc.identity())
    params["rip"] = rs.address
    params.update(rs.params)
    params.update(REAL_LAYOUT_PARAMS)
    allowed = CHECK_PARAMS_BY_TYPE.get(params.get("check_type", "tcp"), set())
    return {k: v for k, v in params.items() if k not in CHECK_ONLY_PARAMS or k in allowed}


def build_plan(config: Config, diags: Diagnostics, options: PlanOptions | None = None) -> Plan:
    opts = options or PlanOptions()
    names = _Names(opts.prefix)
    plan = Plan()
    tables: dict[tuple[str, str], list[VirtualService]] = {}
    for svc in config.services:
        tables.setdefault(_table_key(svc), []).append(svc)
    services: list[Clone] = []        # every service clone, for the sync constraints
    for (kind, key), members in tables.items():
        table = Table([], None)
        for svc in members:
            base = _service_base(svc)
            prim = Primitive(names.unique(base), AGENT_SERVICE,
                             ordered({**svc.identity(), **svc.params}, SERVICE_PARAM_ORDER),
                             [OP_MONITOR], list(svc.comments), list(SERVICE_META))
            service = _clone(names, prim, SERVICE_CLONE_META)
            table.clones.append(service)
            services.append(service)
            for rs in svc.reals:
                suffix = token(rs.address)
                if rs.port is not None and rs.port != svc.port:
                    suffix += f"-{rs.port}"
                real = _clone(names, Primitive(names.unique(f"{base}-rs-{suffix}"), AGENT_REAL,
                                               ordered(_real_params(svc, rs), REAL_PARAM_ORDER),
                                               [OP_MONITOR]), REAL_CLONE_META)
                table.clones.append(real)
                _after(plan, names, real, service, REAL_ORDER_KIND)
        if kind == "vip":
            table.vip = _vip(names, members, opts, diags)
            for clone in table.clones:
                if clone.primitive.agent == AGENT_SERVICE:
                    _after(plan, names, table.vip, clone, "Mandatory")
        else:
            diags.warn(members[0].line, f"fwmark service {key}: its VIP address(es) are not in "
                                        "the source; add IPaddr2 resources colocated with "
                                        f"clone {table.clones[0].id} and ordered after it "
                                        "(with a sync daemon: the Promoted instance colocated "
                                        "with the first of them, each started after the "
                                        "promotion)")
        plan.tables.append(table)
    sync = opts.sync or config.sync
    if sync is not None:
        prim = Primitive(names.unique("ipvs-sync"), AGENT_SYNC,
                         ordered(sync.params, SYNC_PARAM_ORDER), list(OPS_SYNC))
        plan.sync = _clone(names, prim, SYNC_CLONE_META)
        _follow_first_vip(plan, names, opts)
    return plan


def _follow_first_vip(plan: Plan, names: _Names, opts: PlanOptions) -> None:
    """The first VIP is the active director: the other VIPs and the Promoted sync instance
    are colocated with it (a Promoted role colocated with a service clone is not applied by
    Pacemaker 3.0, so the VIP, which is, carries the service constraint), it prefers the
    director with the warmest sync backup (its promotion score), and every VIP starts after
    the promotion."""
    vips = list(dict.fromkeys(t.vip.id for t in plan.tables if t.vip is not None))
    if not vips:
        return
    anchor = _short(opts, vips[0])
    plan.colocations.append(Colocation(names.unique(f"col-sync-with-{anchor}"),
                                       plan.sync.id, vips[0], rsc_role="Promoted"))
    plan.locations.append(ScoreRule(names.unique(f"loc-{anchor}-on-warm-sync"), vips[0],
                                    f"master-{plan.sync.primitive.id}"))
    for vip in vips:
        short = _short(opts, vip)
        if vip != vips[0]:
            plan.colocations.append(Colocation(names.unique(f"col-{short}-with-{anchor}"),
                                               vip, vips[0]))
        plan.orders.append(Order(names.unique(f"ord-sync-then-{short}"), plan.sync.id,
                                 "promote", vip, "start"))


def _short(opts: PlanOptions, name: str) -> str:
    return name[len(opts.prefix):]


def _clone(names: _Names, prim: Primitive, meta: Params) -> Clone:
    return Clone(names.unique(f"{prim.id[len(names.prefix):]}-clone"), prim, list(meta))


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


def _after(plan: Plan, names: _Names, dependent: Clone | Primitive, primary: Clone,
           kind: str) -> None:
    """DEPENDENT only where PRIMARY runs, started after it. Ids: col-/ord-DEPENDENT for a
    real server (its id names its service), col-DEPENDENT-with-PRIMARY and
    ord-PRIMARY-then-DEPENDENT for a VIP."""
    dep = dependent.primitive.id if isinstance(dependent, Clone) else dependent.id
    dep_short = dep[len(names.prefix):]
    first_short = primary.primitive.id[len(names.prefix):]
    if isinstance(dependent, Clone):
        col, order = f"col-{dep_short}", f"ord-{dep_short}"
    else:
        col, order = f"col-{dep_short}-with-{first_short}", f"ord-{first_short}-then-{dep_short}"
    plan.colocations.append(Colocation(names.unique(col), dependent.id, primary.id))
    plan.orders.append(Order(names.unique(order), primary.id, "start", dependent.id, "start",
                             kind))
