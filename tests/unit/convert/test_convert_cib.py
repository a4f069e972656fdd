"""Generated crm and pcs configurations loaded into a real offline CIB, checked with
crm_verify and compared, resource by resource, with the conversion plan; crm_simulate runs
one as a hot standby."""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from lxml import etree

from lab.simulate import simulate_xml
from lvsocf.cli.convert import convert
from lvsocf.cli.convert.mapping import (
    AGENT_REAL,
    AGENT_SERVICE,
    AGENT_VIP,
    SERVICE_META,
    SYNC_CLONE_META,
)
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
        meta = {nv.get("name"): nv.get("value") for nv in p.findall("meta_attributes/nvpair")}
        prims[p.get("id")] = (f"{p.get('class')}:{p.get('provider')}:{p.get('type')}", params,
                              monitors, meta)
    groups = {g.get("id"): [p.get("id") for p in g.findall("primitive")]
              for g in res.findall("group")}
    clones = {c.get("id"): (c.find("primitive").get("id"),
                            {nv.get("name"): nv.get("value")
                             for nv in c.findall("meta_attributes/nvpair")})
              for c in res.findall("clone")}
    cons = root.find("configuration/constraints")
    colocations = {c.get("id"): (c.get("rsc"), _role(c.get("rsc-role")), c.get("with-rsc"),
                                 _role(c.get("with-rsc-role")), c.get("score"))
                   for c in cons.findall("rsc_colocation")}
    orders = {o.get("id"): (o.get("first"), o.get("first-action"), o.get("then"),
                            o.get("then-action"), o.get("kind") or "Mandatory")
              for o in cons.findall("rsc_order")}
    # score-attribute rules: (rsc, score attribute, [(attribute, operation)])
    locations = {loc.get("id"): (loc.get("rsc"), rule.get("score-attribute"),
                                 [(e.get("attribute"), e.get("operation"))
                                  for e in rule.findall("expression")])
                 for loc in cons.findall("rsc_location") for rule in loc.findall("rule")}
    return {"primitives": prims, "groups": groups, "clones": clones,
            "colocations": colocations, "orders": orders, "locations": locations}


def _role(role: str | None) -> str:
    """A constraint role; "Started" (pcs writes it) means the same as none (crmsh)."""
    return "" if role in (None, "Started") else role


def expected_summary(plan: Plan) -> dict:
    prims, clones = {}, {}

    def add(p) -> None:
        monitors = sorted((dict(op)["interval"], dict(op).get("role", "")) for op in p.ops)
        prims[p.id] = (p.agent, dict(p.params), monitors, dict(p.meta))

    for clone in [c for t in plan.tables for c in t.clones] + [plan.sync] * bool(plan.sync):
        add(clone.primitive)
        clones[clone.id] = (clone.primitive.id, dict(clone.meta))
    for table in plan.tables:
        if table.vip is not None:
            add(table.vip)
    return {
        "primitives": prims, "groups": {}, "clones": clones,
        "colocations": {c.id: (c.rsc, c.rsc_role, c.with_rsc, c.with_role, c.score)
                        for c in plan.colocations},
        "orders": {o.id: (o.first, o.first_action, o.then, o.then_action, o.kind)
                   for o in plan.orders},
        "locations": {loc.id: (loc.rsc, loc.attribute, [(loc.attribute, "defined")])
                      for loc in plan.locations},
    }


def assert_matches_plan(cib: Path, plans: list[Plan]) -> dict:
    got = cib_summary(cib)
    want: dict = {k: {} for k in got}
    for plan in plans:
        for key, value in expected_summary(plan).items():
            want[key].update(value)
    assert got == want
    # hot standby: every service and real server cloned, the VIPs not, no groups
    cloned = {child for child, _ in got["clones"].values()}
    for pid, (agent, _, _, meta) in got["primitives"].items():
        assert (pid in cloned) == (agent != AGENT_VIP), pid
        if agent == AGENT_SERVICE:
            assert meta == dict(SERVICE_META)
    assert not got["groups"]
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
        first = "vip-10.1.0.10"      # the first VIP of the file
        assert got["colocations"][f"col-sync-with-{first}"] == (
            "ipvs-sync-clone", "Promoted", first, "", "INFINITY")
        assert got["orders"]["ord-sync-then-vip-10.1.0.10"] == (
            "ipvs-sync-clone", "promote", "vip-10.1.0.10", "start", "Mandatory")
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
    assert sum(1 for a, *_ in got["primitives"].values() if a == AGENT_SERVICE) >= 15
    assert sum(1 for a, *_ in got["primitives"].values() if a == AGENT_REAL) >= 15
    syncd = [p for n, p in zip(sorted(samples), plans, strict=True)
             if n == "keepalived.conf.vrrp.lvs_syncd"]
    if syncd:
        assert syncd[0].sync is not None and syncd[0].orders and syncd[0].colocations


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
            assert got["orders"]["ord-sync-then-vip-192.0.2.10"] == (
                "ipvs-sync-clone", "promote", "vip-192.0.2.10", "start", "Mandatory")
            rs = "tcp-192.0.2.10-80-rs-198.51.100.1"
            assert got["orders"][f"ord-{rs}"] == (
                "tcp-192.0.2.10-80-clone", "start", f"{rs}-clone", "start", "Optional")


def _simulate(src: Path, out: Path, *args: str) -> etree._Element:
    return etree.fromstring(simulate_xml(src, out, *args).encode())


def test_crm_output_is_a_hot_standby(data, cib, convert, tmp_path):
    """crm_simulate with the converted keepalived.conf (sync daemon, several VIPs): every
    director runs every service and real server, the VIPs are with the Promoted sync
    instance, and a failover only promotes and starts the VIPs on the survivor."""
    rc, _, _ = convert(data["ka_full.conf"], "--to", "crm")
    assert rc == 0
    db = cib.new()
    cib.crm_load(db, data["ka_full.conf"].parent / "ka_full.conf.out")
    _, plan = plan_of(data["ka_full.conf"], "crm")
    online = tmp_path / "online.xml"
    subprocess.run(["crm_simulate", "-x", str(db), "-q", "true", "-u", "node1", "-u", "node2",
                    "-O", str(online)], capture_output=True, timeout=120, check=True)
    for node, score in (("node1", "100"), ("node2", "1")):
        subprocess.run(["crm_attribute", "-N", node, "-n", f"master-{plan.sync.primitive.id}",
                        "-l", "reboot", "-v", score], env={**os.environ, "CIB_file": str(online)},
                       capture_output=True, timeout=60, check=True)
    started = tmp_path / "started.xml"
    status = _simulate(online, started).find("revised_cluster_status")
    placed: dict[str, set] = {}
    for res in status.iter("resource"):
        placed.setdefault(res.get("id"), set()).update(
            (n.get("name"), res.get("role")) for n in res.findall("node"))
    vips = [t.vip.id for t in plan.tables if t.vip]
    assert len(vips) >= 2
    for table in plan.tables:
        for clone in table.clones:
            assert placed[clone.primitive.id] == {("node1", "Started"), ("node2", "Started")}
    assert all(placed[v] == {("node1", "Started")} for v in vips)
    assert placed[plan.sync.primitive.id] == {("node1", "Promoted"), ("node2", "Unpromoted")}
    result = _simulate(started, tmp_path / "failover.xml", "--node-down", "node1")
    done = {(a.get("resource"), a.get("op")) for a in result.find("transition").iter("rsc_action")
            if a.get("op") not in ("monitor", "cancel")}
    assert done == {(plan.sync.primitive.id, "promote"), *((v, "start") for v in vips)}
