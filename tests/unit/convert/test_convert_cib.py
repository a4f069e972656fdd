"""Generated crm and pcs configurations loaded into a real offline CIB, checked with
crm_verify and compared, resource by resource, with the conversion plan."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from lxml import etree

from lvsocf.cli.convert import convert
from lvsocf.cli.convert.mapping import AGENT_SERVICE, AGENT_VIP, SYNC_CLONE_META
from lvsocf.cli.convert.model import SyncDaemon
from lvsocf.cli.convert.plan import Plan, PlanOptions

# the per-real receive string of data/quoting.cf, exactly as ldirectord reads it
TRICKY = "He said \\\"hi\\\" & $HOME \\\\d+ 'q' #x ;`id` (a|b)$"


def cib_summary(cib: Path) -> dict:
    root = etree.parse(str(cib)).getroot()
    res = root.find("configuration/resources")
    prims = {}
    for p in res.iter("primitive"):
        params = {nv.get("name"): nv.get("value")
                  for nv in p.findall("instance_attributes/nvpair")}
        monitors = sorted((op.get("interval"), op.get("role") or "")
                          for op in p.findall("operations/op") if op.get("name") == "monitor")
        prims[p.get("id")] = (f"{p.get('class')}:{p.get('provider')}:{p.get('type')}", params,
                              monitors)
    groups = {g.get("id"): [p.get("id") for p in g.findall("primitive")]
              for g in res.findall("group")}
    clones = {c.get("id"): (c.find("primitive").get("id"),
                            {nv.get("name"): nv.get("value")
                             for nv in c.findall("meta_attributes/nvpair")})
              for c in res.findall("clone")}
    cons = root.find("configuration/constraints")
    colocations = {c.get("id"): (c.get("rsc"), c.get("with-rsc"), c.get("with-rsc-role"),
                                 c.get("score"))
                   for c in cons.findall("rsc_colocation")}
    orders = {o.get("id"): (o.get("first"), o.get("first-action"), o.get("then"),
                            o.get("then-action"), o.get("kind") or "Mandatory")
              for o in cons.findall("rsc_order")}
    return {"primitives": prims, "groups": groups, "clones": clones,
            "colocations": colocations, "orders": orders}


def expected_summary(plan: Plan) -> dict:
    prims, groups = {}, {}

    def add(p) -> None:
        monitors = sorted((dict(op)["interval"], dict(op).get("role", "")) for op in p.ops)
        prims[p.id] = (p.agent, dict(p.params), monitors)

    for group in plan.groups:
        groups[group.id] = [m.id for m in group.members]
        for member in group.members:
            add(member)
    clones = {}
    if plan.clone is not None:
        add(plan.clone.primitive)
        clones[plan.clone.id] = (plan.clone.primitive.id, dict(plan.clone.meta))
    return {
        "primitives": prims, "groups": groups, "clones": clones,
        "colocations": {c.id: (c.rsc, c.with_rsc, c.with_role, c.score)
                        for c in plan.colocations},
        "orders": {o.id: (o.first, o.first_action, o.then, o.then_action, o.kind)
                   for o in plan.orders},
    }


def assert_matches_plan(cib: Path, plans: list[Plan]) -> dict:
    got = cib_summary(cib)
    want: dict = {k: {} for k in got}
    for plan in plans:
        for key, value in expected_summary(plan).items():
            want[key].update(value)
    assert got == want
    for plan in plans:  # DESIGN.md: service and real servers first, VIP last
        for group in plan.groups:
            agents = [got["primitives"][m][0] for m in got["groups"][group.id]]
            assert agents[0] == AGENT_SERVICE
            if AGENT_VIP in agents:
                assert agents.index(AGENT_VIP) == len(agents) - 1
    return got


def plan_of(path: Path, to: str, **opts) -> tuple[str, Plan]:
    result = convert(path.read_text(), str(path), to, "auto", PlanOptions(**opts))
    return result.text, result.plan


@pytest.mark.parametrize("name", ["ld_full.cf", "ka_full.conf", "quoting.cf"])
def test_crm_load_hand_written(name, data, cib, convert):
    rc, text, _ = convert(data[name], "--to", "crm")
    assert rc == 0
    db = cib.new()
    cib.crm_load(db, data[name].parent / (name + ".out"))
    cib.verify(db)
    _, plan = plan_of(data[name], "crm")
    got = assert_matches_plan(db, [plan])
    if name == "ka_full.conf":
        assert got["clones"]["ipvs-sync-clone"][1] == dict(SYNC_CLONE_META)
        assert got["colocations"]["col-lvs-10.1.0.10-with-sync"] == (
            "lvs-10.1.0.10", "ipvs-sync-clone", "Promoted", "INFINITY")
        assert got["orders"]["ord-sync-then-lvs-10.1.0.10"] == (
            "ipvs-sync-clone", "promote", "lvs-10.1.0.10", "start", "Mandatory")
    if name == "quoting.cf":
        params = got["primitives"]["tcp-192.0.2.10-80-rs-198.51.100.1"][1]
        assert params["receive"] == TRICKY
        assert params["request"] == "/st atus?a=b&c=d"


def test_crm_load_debian_samples(samples, cib, convert, tmp_path):
    """Every sample shipped by Debian converts; all of them are loaded into one CIB (one crm
    call, a --prefix per sample keeps the ids apart) and must match their plans."""
    db = cib.new()
    plans, combined = [], []
    for i, (_name, path) in enumerate(sorted(samples.items())):
        prefix = f"s{i:02d}-"
        rc, text, err = convert(path, "--to", "crm", "--prefix", prefix)
        assert rc == 0, err
        assert "Traceback" not in err
        combined.append(text)
        plans.append(plan_of(path, "crm", prefix=prefix)[1])
    script = tmp_path / "samples.crm"
    script.write_text("\n".join(combined))
    # samples share VIP addresses; together in one CIB crmsh warns about IPaddr2 uniqueness
    cib.crm_load(db, script, force=True)
    cib.verify(db)
    got = assert_matches_plan(db, plans)
    # the samples with a virtual_server (or ldirectord virtual=) produced services
    assert sum(1 for a, _, _ in got["primitives"].values() if a == AGENT_SERVICE) >= 15
    syncd = [p for n, p in zip(sorted(samples), plans, strict=True)
             if n == "keepalived.conf.vrrp.lvs_syncd"]
    if syncd:
        assert syncd[0].clone is not None and syncd[0].orders and syncd[0].colocations


PCS_CASES = [
    ("ldirectord.cf", []),
    ("keepalived.conf.vrrp.lvs_syncd", []),
    ("quoting.cf", ["--sync-interface", "eth1", "--syncid", "3"]),
]


def test_pcs_commands_build_the_same_cib(samples, data, cib, convert):
    """The pcs scripts, split with shlex and run command by command against offline CIBs
    (one CIB per config, the configs in parallel: pcs costs ~1 s per command)."""
    jobs = []
    for name, args in PCS_CASES:
        path = data.get(name) or samples.get(name)
        assert path is not None, f"{name} missing"
        rc, text, _ = convert(path, "--to", "pcs", *args)
        assert rc == 0
        assert text.startswith("#!/bin/sh\n")
        sync = SyncDaemon(None, {"interface": "eth1", "syncid": "3"}) if args else None
        plan = plan_of(path, "pcs", sync=sync)[1]
        jobs.append((name, text, cib.new(name.replace(".", "_")), plan))
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        counts = list(pool.map(lambda job: cib.pcs_load(job[2], job[1]), jobs))
    assert all(counts)
    for name, _text, db, plan in jobs:
        cib.verify(db)
        got = assert_matches_plan(db, [plan])
        if name == "quoting.cf":
            params = got["primitives"]["tcp-192.0.2.10-80-rs-198.51.100.1"][1]
            assert params["receive"] == TRICKY
            assert params["request"] == "/st atus?a=b&c=d"
            assert got["clones"]["ipvs-sync-clone"][1] == dict(SYNC_CLONE_META)
            assert got["orders"]["ord-sync-then-lvs-192.0.2.10"] == (
                "ipvs-sync-clone", "promote", "lvs-192.0.2.10", "start", "Mandatory")
