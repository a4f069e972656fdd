"""Plan and emitters: names, hot-standby layout, crm quoting and line wrapping, pcs commands."""

from __future__ import annotations

import re
import shlex

import pytest

from lvsocf.cli.convert import crm, pcs
from lvsocf.cli.convert.diag import Diagnostics
from lvsocf.cli.convert.mapping import AGENT_REAL, AGENT_SERVICE
from lvsocf.cli.convert.model import Config, RealServer, SyncDaemon, VirtualService
from lvsocf.cli.convert.plan import PlanOptions, build_plan, token

XML_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


def service(address: str, port: int, protocol: str = "tcp", reals: int = 1) -> VirtualService:
    svc = VirtualService(line=1, protocol=protocol, address=address, port=port,
                         params={"scheduler": "wlc"})
    svc.reals = [RealServer(f"198.51.100.{i + 1}", port, 2, {"method": "masq", "weight": "1",
                                                              "check_type": "tcp"})
                 for i in range(reals)]
    return svc


def all_ids(plan) -> list[str]:
    clones = [c for t in plan.tables for c in t.clones] + ([plan.sync] if plan.sync else [])
    ids = [i for c in clones for i in (c.id, c.primitive.id)]
    ids += [t.vip.id for t in plan.tables if t.vip]
    return ids + [c.id for c in plan.colocations] + [o.id for o in plan.orders]


def constraints(plan) -> tuple[set, set]:
    return ({(c.rsc, c.rsc_role, c.with_rsc, c.with_role) for c in plan.colocations},
            {(o.first, o.first_action, o.then, o.then_action, o.kind) for o in plan.orders})


def test_hot_standby_table_per_vip_address():
    """Every service and real server a clone; one VIP per address, not cloned, where each
    of its services runs and after it; each real server where its service runs, after it
    (Optional); no sync daemon: no Promoted constraints."""
    config = Config("keepalived", [service("192.0.2.1", 80, reals=2),
                                   service("192.0.2.2", 80),
                                   service("192.0.2.1", 53, "udp")])
    plan = build_plan(config, Diagnostics("x"))
    assert [t.vip.id for t in plan.tables] == ["vip-192.0.2.1", "vip-192.0.2.2"]
    table = plan.tables[0]
    assert [c.primitive.agent for c in table.clones] == [
        AGENT_SERVICE, AGENT_REAL, AGENT_REAL, AGENT_SERVICE, AGENT_REAL]
    assert [c.id for c in table.clones] == [
        "tcp-192.0.2.1-80-clone", "tcp-192.0.2.1-80-rs-198.51.100.1-clone",
        "tcp-192.0.2.1-80-rs-198.51.100.2-clone", "udp-192.0.2.1-53-clone",
        "udp-192.0.2.1-53-rs-198.51.100.1-clone"]
    assert table.clones[0].meta == [("interleave", "true")] and table.clones[1].meta == []
    assert table.clones[0].primitive.meta == [("migration-threshold", "1"),
                                              ("failure-timeout", "10s")]
    assert ("drain_timeout", "0") in table.clones[1].primitive.params
    cols, ords = constraints(plan)
    assert ("tcp-192.0.2.1-80-rs-198.51.100.2-clone", "", "tcp-192.0.2.1-80-clone", "") in cols
    assert ("tcp-192.0.2.1-80-clone", "start", "tcp-192.0.2.1-80-rs-198.51.100.2-clone",
            "start", "Optional") in ords
    for svc in ("tcp-192.0.2.1-80-clone", "udp-192.0.2.1-53-clone"):
        assert ("vip-192.0.2.1", "", svc, "") in cols
        assert (svc, "start", "vip-192.0.2.1", "start", "Mandatory") in ords
    assert len(cols) == len(ords) == 4 + 3
    assert plan.sync is None


def test_names_are_unique_valid_and_deterministic():
    config = Config("ldirectord", [service("2001:db8::1", 80), service("2001_db8__1", 80),
                                   service("a+b.example", 80)])
    config.sync = SyncDaemon(1, {"interface": "eth1"})
    plan = build_plan(config, Diagnostics("x"), PlanOptions(prefix="p_"))
    ids = all_ids(plan)
    assert len(ids) == len(set(ids))
    assert all(XML_ID.fullmatch(i) and i.startswith("p_") for i in ids)
    assert "p_tcp-2001_db8__1-80-2" in ids
    again = build_plan(config, Diagnostics("x"), PlanOptions(prefix="p_"))
    assert all_ids(again) == ids
    assert token("fe80::1%eth0") == "fe80__1_eth0"


def test_sync_clone_constraints_for_every_vip_and_service():
    config = Config("keepalived", [service("192.0.2.1", 80), service("192.0.2.2", 80)],
                    SyncDaemon(1, {"syncid": "5", "interface": "eth1"}))
    plan = build_plan(config, Diagnostics("x"))
    assert plan.sync.id == "ipvs-sync-clone"
    assert plan.sync.primitive.params == [("interface", "eth1"), ("syncid", "5")]
    cols, ords = constraints(plan)
    # the first VIP is the active director: the Promoted role and the other VIPs follow it
    following = [c for c in cols if c[2] == "vip-192.0.2.1"]
    assert sorted(following) == [
        ("ipvs-sync-clone", "Promoted", "vip-192.0.2.1", ""),
        ("vip-192.0.2.2", "", "vip-192.0.2.1", "")]
    assert not [c for c in cols if c[2] == "ipvs-sync-clone" or
                (c[0] == "ipvs-sync-clone" and c[2] != "vip-192.0.2.1")]
    assert sorted(o for o in ords if o[0] == "ipvs-sync-clone") == [
        ("ipvs-sync-clone", "promote", "vip-192.0.2.1", "start", "Mandatory"),
        ("ipvs-sync-clone", "promote", "vip-192.0.2.2", "start", "Mandatory")]


def test_check_params_of_other_check_types_are_dropped():
    svc = service("192.0.2.1", 80)
    svc.reals[0].params.update({"check_type": "ping", "check_port": "80", "request": "/"})
    plan = build_plan(Config("keepalived", [svc]), Diagnostics("x"))
    params = dict(plan.tables[0].clones[1].primitive.params)
    assert "check_port" not in params and "request" not in params


@pytest.mark.parametrize(("value", "quoted"), [
    ("10.0.0.1", "10.0.0.1"),
    ("sh-port,sh-fallback", "sh-port,sh-fallback"),
    ("", '""'),
    ("a b", '"a b"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("back\\slash", '"back\\\\slash"'),
    ("[::1]:80", '"[::1]:80"'),
    ("x=y", '"x=y"'),
])
def test_crm_quote(value, quoted):
    assert crm.quote(value) == quoted


def test_crm_output_shape():
    config = Config("keepalived", [service("192.0.2.1", 80, reals=12)],
                    SyncDaemon(1, {"interface": "eth1"}))
    diags = Diagnostics("x")
    text = crm.render(build_plan(config, diags), diags)
    lines = text.splitlines()
    assert all(len(ln.expandtabs(8)) <= 110 for ln in lines)
    assert "commit" not in text
    # every continuation line follows a line ending in a backslash
    for prev, cur in zip(lines, lines[1:], strict=False):
        if cur.startswith("\t"):
            assert prev.endswith(" \\")
    assert "clone ipvs-sync-clone ipvs-sync \\" in lines
    rs = "tcp-192.0.2.1-80-rs-198.51.100.12"
    assert f"clone {rs}-clone {rs}" in lines
    assert "\tmeta migration-threshold=1 failure-timeout=10s \\" in lines
    assert "\top monitor interval=10s role=Promoted timeout=30s \\" in lines


def test_crm_warns_about_values_crmsh_may_alter():
    svc = service("192.0.2.1", 80)
    svc.reals[0].params["check_type"] = "http"
    svc.reals[0].params["receive"] = "caf\u00e9"
    diags = Diagnostics("x")
    crm.render(build_plan(Config("keepalived", [svc]), diags), diags)
    assert any("non-ASCII" in msg for _, msg in diags.warnings)


def test_pcs_script_commands():
    config = Config("keepalived", [service("192.0.2.1", 80)], SyncDaemon(1, {"interface": "e"}))
    text = pcs.render(build_plan(config, Diagnostics("x")))
    argvs = [shlex.split(ln) for ln in text.splitlines()
             if ln.startswith('pcs -f "$cib" ')]
    creates = [a for a in argvs if a[3:5] == ["resource", "create"]]
    assert [a[5] for a in creates] == ["tcp-192.0.2.1-80", "tcp-192.0.2.1-80-rs-198.51.100.1",
                                       "vip-192.0.2.1", "ipvs-sync"]
    assert creates[0][-3:] == ["meta", "migration-threshold=1", "failure-timeout=10s"]
    assert not any(w in a for a in creates for w in ("clone", "promotable"))
    # each clone by its own command, options after `meta` (pcs 0.11 and 0.12 without a word)
    pcs_r = ["pcs", "-f", "$cib", "resource"]
    clones = [a for a in argvs if a[3:5] in (["resource", "clone"], ["resource", "promotable"])]
    assert clones == [
        [*pcs_r, "clone", "tcp-192.0.2.1-80", "tcp-192.0.2.1-80-clone", "meta",
         "interleave=true"],
        [*pcs_r, "clone", "tcp-192.0.2.1-80-rs-198.51.100.1",
         "tcp-192.0.2.1-80-rs-198.51.100.1-clone"],
        [*pcs_r, "promotable", "ipvs-sync", "ipvs-sync-clone", "meta", "promoted-max=1",
         "promoted-node-max=1", "clone-node-max=1"]]
    pcs_f = ["pcs", "-f", "$cib", "constraint"]
    assert [*pcs_f, "colocation", "add", "Promoted", "ipvs-sync-clone", "with",
            "vip-192.0.2.1", "score=INFINITY", "id=col-sync-with-vip-192.0.2.1"] in argvs
    assert [*pcs_f, "order", "promote", "ipvs-sync-clone", "then", "start", "vip-192.0.2.1",
            "kind=Mandatory", "id=ord-sync-then-vip-192.0.2.1"] in argvs
    assert [*pcs_f, "order", "start", "tcp-192.0.2.1-80-clone", "then", "start",
            "tcp-192.0.2.1-80-rs-198.51.100.1-clone", "kind=Optional",
            "id=ord-tcp-192.0.2.1-80-rs-198.51.100.1"] in argvs
    lines = text.splitlines()
    assert lines[:4] == pcs.PROLOGUE and lines[-1] == pcs.EPILOGUE[0]
