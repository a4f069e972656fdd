"""Reading CIBs and crm_simulate results with lxml, for the crm-examples tests."""

from __future__ import annotations

import re
from copy import deepcopy
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
    locations = {loc.get("id"): (loc.get("rsc"), *_rule(loc.find("rule")))
                 for loc in cons.findall("rsc_location")}
    other = sorted(c.tag for c in cons
                   if c.tag not in ("rsc_colocation", "rsc_order", "rsc_location"))
    properties: dict[str, str] = {}
    for s in conf.findall("crm_config/cluster_property_set"):
        properties.update(_nvpairs(s, "."))
    defaults: dict[str, str] = {}
    for s in conf.findall("rsc_defaults/meta_attributes"):
        defaults.update(_nvpairs(s, "."))
    return {"primitives": prims, "groups": groups, "clones": clones,
            "colocations": colocations, "orders": orders, "locations": locations,
            "other_constraints": other,
            "properties": properties, "rsc_defaults": defaults,
            "top_level": sorted(e.get("id") for e in res)}


# --------------------------------------------------------------------------- layout

def service_ident(params: dict[str, str]) -> tuple:
    """What identifies a virtual service: (protocol, vip, port) or ("fwmark", mark, family)."""
    if "fwmark" in params:
        return ("fwmark", params["fwmark"], params.get("family", "inet"))
    return (params.get("protocol", "tcp"), params["vip"], params["port"])


@dataclass
class Layout:
    """The roles of a hot-standby configuration's resources (from summary())."""
    sync: str | None                  # the IPVSSync primitive
    sync_clone: str | None
    services: dict[str, str]          # IPVSService primitive -> its clone (None: not cloned)
    real_servers: dict[str, str]      # IPVSRealServer primitive -> its clone
    service_of: dict[str, str]        # IPVSRealServer primitive -> its IPVSService primitive
    addresses: list[str]              # IPaddr2 primitives
    top: dict[str, str]               # primitive -> its top-level resource (clone, group, itself)
    # IPVSSync backup_only (default true): a backup never balances, so each address starts
    # only after the promotion; false (dedicated directors): both start side by side
    backup_only: bool = True

    @property
    def table(self) -> list[str]:
        return [*self.services, *self.real_servers]


def layout(sm: dict) -> Layout:
    prims = sm["primitives"]
    top = {pid: pid for pid in prims}
    for gid, members in sm["groups"].items():
        top.update({m: gid for m in members})
    for cid, c in sm["clones"].items():
        top[c["child"]] = cid
    of = {a: [p for p, v in prims.items() if v["agent"] == a]
          for a in (AGENT_SYNC, AGENT_SERVICE, AGENT_REALSERVER, AGENT_VIP)}
    sync = of[AGENT_SYNC][0] if of[AGENT_SYNC] else None
    by_ident = {service_ident(prims[s]["params"]): s for s in of[AGENT_SERVICE]}
    return Layout(
        sync, top[sync] if sync else None,
        {s: top[s] for s in of[AGENT_SERVICE]},
        {r: top[r] for r in of[AGENT_REALSERVER]},
        {r: by_ident[service_ident(prims[r]["params"])] for r in of[AGENT_REALSERVER]},
        of[AGENT_VIP], top,
        sync is not None and prims[sync]["params"].get("backup_only", "true") == "true")


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


# --------------------------------------------------------------------------- scaling

def _real_servers_by_service(res) -> dict[tuple, list]:
    """The top-level element of each real server (its clone, or itself in a group), per
    service, in document order."""
    found: dict[tuple, list] = {}
    for p in res.iter("primitive"):
        if _agent(p) == AGENT_REALSERVER:
            top = p.getparent() if p.getparent().tag == "clone" else p
            found.setdefault(service_ident(_nvpairs(p, "instance_attributes")), []).append(top)
    return found


_REFS = ("rsc", "with-rsc", "first", "then")


def _renamed(elem, old: str, new: str):
    """A deep copy of ELEM with OLD replaced by NEW in its ids, operation keys and the
    resources it names (a constraint)."""
    copy = deepcopy(elem)
    for e in copy.iter():
        for attr in ("id", "operation_key", *_REFS):
            if e.get(attr) and old in e.get(attr):
                e.set(attr, e.get(attr).replace(old, new, 1))
    return copy


def _naming(elem, rid: str) -> bool:
    return rid in {elem.get(a) for a in _REFS}


def scale_real_servers(src: Path, dst: Path, n: int) -> None:
    """Write SRC to DST with exactly N real servers per service: the extra ones dropped, the
    missing ones copied from the service's first real server, with its clone (or its place
    in the group), every constraint that names it and its resource history on every node.
    A copy keeps all of its template's parameters, rip included: the copied history then
    matches Pacemaker's parameter digests (else the scheduler restarts every copy), and the
    scheduler never reads the values (IPVS would refuse the duplicates, Pacemaker does not).
    """
    tree = etree.parse(str(src))
    root = tree.getroot()
    res = root.find("configuration/resources")
    cons = root.find("configuration/constraints")
    histories = root.findall("status/node_state/lrm/lrm_resources")
    for tops in _real_servers_by_service(res).values():
        for extra in tops[n:]:
            xid = extra.get("id")
            pid = xid if extra.tag == "primitive" else extra.find("primitive").get("id")
            for c in [c for c in cons if _naming(c, xid)]:
                cons.remove(c)
            for lrm in histories:
                for h in lrm.findall(f"lrm_resource[@id='{pid}']"):
                    lrm.remove(h)
            extra.getparent().remove(extra)
        template = tops[0]
        tid = template.get("id")
        pid = tid if template.tag == "primitive" else template.find("primitive").get("id")
        refs = [c for c in cons if _naming(c, tid)]
        anchor = tops[min(n, len(tops)) - 1]
        for k in range(len(tops) + 1, n + 1):
            new = f"{pid}-x{k}"
            copy = _renamed(template, pid, new)
            anchor.addnext(copy)
            anchor = copy
            for c in refs:
                cons.append(_renamed(c, pid, new))
            for lrm in histories:
                for h in lrm.findall(f"lrm_resource[@id='{pid}']"):
                    lrm.append(_renamed(h, pid, new))
    tree.write(str(dst))


# --------------------------------------------------------------------------- transition graphs

def _synapses(graph: Path) -> tuple[dict, dict[str, list[str]]]:
    """A transition graph's actions by id, and the ids each one waits for."""
    actions, inputs = {}, {}
    for syn in etree.parse(str(graph)).getroot().iter("synapse"):
        (action,) = list(syn.find("action_set"))
        actions[action.get("id")] = action
        inputs[action.get("id")] = [t.get("id") for trig in syn.iter("trigger") for t in trig]
    return actions, inputs


def _name(action) -> str:
    """"operation_key@node", without a clone instance number (www-rs1:0_start_0: a clone
    instance with no history yet)."""
    key = re.sub(r":\d+_", "_", action.get("operation_key") or "")
    return f"{key}@{action.get('on_node')}"


def _is_agent_run(action) -> bool:
    """An action that runs a resource agent: every rsc_op but a cancel (the executor stops a
    recurring operation without calling the agent); not pseudo events, not fencing."""
    return action.tag == "rsc_op" and action.get("operation") != "cancel"


def longest_chain(graph: Path, monitors: bool = True) -> list[str]:
    """The longest chain of agent runs in a transition graph (crm_simulate -G), as the list of
    their "operation_key@node": a path through the graph's dependencies (synapse inputs) with
    the most agent runs on it. MONITORS=False leaves recurring and probe monitors out."""
    actions, inputs = _synapses(graph)
    best: dict[str, list[str]] = {}
    pending = list(actions)
    while pending:          # depth first without recursion: old layouts chain 1,000s deep
        aid = pending[-1]
        waiting = [i for i in inputs[aid] if i in actions and i not in best]
        if waiting:
            pending.extend(waiting)
            continue
        pending.pop()
        if aid in best:
            continue
        action = actions[aid]
        before = max((best[i] for i in inputs[aid] if i in actions), key=len, default=[])
        counted = _is_agent_run(action) and (monitors or action.get("operation") != "monitor")
        best[aid] = before + ([_name(action)] if counted else [])
    return max(best.values(), key=len, default=[])


def ordered_before(graph: Path, first: str, then: str) -> bool:
    """Whether the action FIRST ("operation_key@node", e.g. "sync_promote_0@node2") is among
    the inputs, direct or not, of the action THEN in a transition graph."""
    actions, inputs = _synapses(graph)
    names = {aid: _name(a) for aid, a in actions.items()}
    (start,) = [aid for aid, name in names.items() if name == then]
    seen, todo = set(), [start]
    while todo:
        for i in inputs.get(todo.pop(), []):
            if names.get(i) == first:
                return True
            if i not in seen:
                seen.add(i)
                todo.append(i)
    return False


def _rule(rule) -> tuple:
    """A location rule without the ids of its parts: (role, score, score-attribute,
    boolean-op, sorted (attribute, operation, type, value)); () for none."""
    if rule is None:
        return ()
    exprs = tuple(sorted((e.get("attribute"), e.get("operation"), e.get("type") or "string",
                          e.get("value")) for e in rule.findall("expression")))
    return (rule.get("role"), rule.get("score"), rule.get("score-attribute"),
            rule.get("boolean-op") or "and", exprs)


def rule_summary(cib: Path) -> dict[str, tuple]:
    """The rule-based location constraints of a CIB, by id: (rsc, *_rule(its rule))."""
    root = etree.parse(str(cib)).getroot()
    return {loc.get("id"): (loc.get("rsc"), *_rule(loc.find("rule")))
            for loc in root.iter("rsc_location") if loc.find("rule") is not None}
