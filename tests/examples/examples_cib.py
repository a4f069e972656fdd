"""Reading CIBs and crm_simulate results with lxml, for the crm-examples tests."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

AGENT_SERVICE = "ocf:lvsocf:IPVSService"
AGENT_REALSERVER = "ocf:lvsocf:IPVSRealServer"
AGENT_SYNC = "ocf:lvsocf:IPVSSync"
AGENT_VIP = "ocf:heartbeat:IPaddr2"

_UNITS_MS = {"": 1000, "s": 1000, "sec": 1000, "ms": 1, "msec": 1, "m": 60000, "min": 60000,
             "h": 3600000, "hr": 3600000}


def duration_ms(value: str | None) -> int | None:
    """Pacemaker durations ("10s", "0", "1m", "500ms") in milliseconds."""
    if value is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*([a-z]*)\s*", value)
    assert m and m.group(2) in _UNITS_MS, f"not a duration: {value!r}"
    return int(m.group(1)) * _UNITS_MS[m.group(2)]


def _nvpairs(elem, path: str) -> dict[str, str]:
    return {nv.get("name"): nv.get("value") for nv in elem.findall(f"{path}/nvpair")}


def _score(value: str | None) -> str | None:
    return None if value is None else value.lstrip("+").upper()


def _role(value: str | None) -> str:
    """A constraint role; "Started" (pcs writes it) means the same as none (crmsh)."""
    return "" if value in (None, "", "Started") else value


def _agent(p) -> str:
    return ":".join(x for x in (p.get("class"), p.get("provider"), p.get("type")) if x)


def summary(cib: Path) -> dict:
    """What a configuration defines, independent of the tool that wrote it (element ids of
    nvpairs, ops and attribute sets differ between crmsh and pcs; resource and constraint
    ids do not)."""
    root = etree.parse(str(cib)).getroot()
    conf = root.find("configuration")
    res = conf.find("resources")
    prims = {}
    for p in res.iter("primitive"):
        ops = frozenset(
            (op.get("name"), duration_ms(op.get("interval")) or 0, op.get("role") or "",
             duration_ms(op.get("timeout")))
            for op in p.findall("operations/op"))
        prims[p.get("id")] = {"agent": _agent(p), "params": _nvpairs(p, "instance_attributes"),
                              "meta": _nvpairs(p, "meta_attributes"), "ops": ops}
    groups = {g.get("id"): [m.get("id") for m in g.findall("primitive")]
              for g in res.iter("group")}
    clones = {c.get("id"): {"child": c.find("primitive").get("id"),
                            "meta": _nvpairs(c, "meta_attributes")}
              for c in res.iter("clone")}
    cons = conf.find("constraints")
    colocations = {c.get("id"): (c.get("rsc"), _role(c.get("rsc-role")), c.get("with-rsc"),
                                 _role(c.get("with-rsc-role")), _score(c.get("score")))
                   for c in cons.findall("rsc_colocation")}
    orders = {o.get("id"): (o.get("first"), o.get("first-action") or "start", o.get("then"),
                            o.get("then-action") or "start", o.get("kind") or "Mandatory")
              for o in cons.findall("rsc_order")}
    other = sorted(c.tag for c in cons if c.tag not in ("rsc_colocation", "rsc_order"))
    properties: dict[str, str] = {}
    for s in conf.findall("crm_config/cluster_property_set"):
        properties.update(_nvpairs(s, "."))
    defaults: dict[str, str] = {}
    for s in conf.findall("rsc_defaults/meta_attributes"):
        defaults.update(_nvpairs(s, "."))
    return {"primitives": prims, "groups": groups, "clones": clones,
            "colocations": colocations, "orders": orders, "other_constraints": other,
            "properties": properties, "rsc_defaults": defaults,
            "top_level": sorted(e.get("id") for e in res)}


# --------------------------------------------------------------------------- crm_simulate

@dataclass
class Simulation:
    """crm_simulate --output-as=xml: where every resource (instance) runs after the
    simulated transition, and the actions of that transition."""
    # resource id -> [(node, role)], one entry per running instance
    placement: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # (resource id without clone suffix, operation, node)
    actions: list[tuple[str, str, str]] = field(default_factory=list)
    online: set[str] = field(default_factory=set)
    fenced: set[str] = field(default_factory=set)

    def nodes_of(self, rsc: str, role: str | None = None) -> set[str]:
        return {n for n, r in self.placement.get(rsc, []) if role is None or r == role}

    def changes(self, rsc: str) -> list[tuple[str, str]]:
        """(operation, node) of everything but monitors done to RSC in the transition."""
        return [(op, node) for r, op, node in self.actions
                if r == rsc and op not in ("monitor", "cancel")]


def parse_simulation(xml_text: str) -> Simulation:
    root = etree.fromstring(xml_text.encode())
    sim = Simulation()
    status = root.find("revised_cluster_status")
    assert status is not None, "crm_simulate -S printed no revised cluster status"
    sim.online = {n.get("name") for n in status.find("nodes").iter("node")
                  if n.get("online") == "true"}
    for res in status.find("resources").iter("resource"):
        running = [(n.get("name"), res.get("role")) for n in res.findall("node")]
        sim.placement.setdefault(res.get("id"), []).extend(running)
    transition = root.find("transition")
    if transition is not None:
        for act in transition.iter("rsc_action"):
            sim.actions.append((act.get("resource").split(":")[0], act.get("op"),
                                act.get("node")))
        sim.fenced = {f.get("target") for f in transition.iter("fencing_action")}
    return sim
