"""The crm-examples load as they are: crmsh `configure load update` and the pcs scripts (run
with sh) into offline CIBs that crm_verify accepts; both variants define the same thing; the
layout is DESIGN.md's hot standby (the table cloned on every director, the VIP with the
Promoted sync instance or, without one, alone; see crm-examples/README.md)."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest
from examples_cib import (
    AGENT_REALSERVER,
    AGENT_SERVICE,
    AGENT_SYNC,
    AGENT_VIP,
    duration_ms,
    layout,
    summary,
)
from examples_tools import (
    BUILT_IDS,
    BUILT_KEYS,
    EXAMPLES,
    INTERFACES,
    PCS_EPILOGUE,
    PCS_PROLOGUE,
    SCENARIO_IDS,
    SCENARIOS,
    THREE_NODES,
    agent_metadata,
    fencing_block,
    pcs_argvs,
    run,
    uncomment_fencing,
)
from lxml import etree

BY_NAME = {s.name: s for s in SCENARIOS}


def test_every_scenario_is_there_and_indexed():
    assert SCENARIO_IDS == ["1-nat-web", "2-dr-sync", "3-dr-directors",
                            "4-fwmark-persistence", "5-udp-dns"]
    index = (EXAMPLES / "README.md").read_text()
    for s in SCENARIOS:
        assert f"{s.name}/" in index, f"{s.name} missing from crm-examples/README.md"
        readme = s.readme.read_text()
        assert f"crm configure load update {s.crm.name}" in readme
        assert f"sh {s.pcs.name}" in readme
        assert s.pcs.stat().st_mode & 0o111, f"{s.pcs} is not executable"
        assert s.pcs.read_text().startswith("#!/bin/sh\n")


@pytest.mark.parametrize("name", SCENARIO_IDS)
def test_pcs_script_is_plain_sh_running_pcs_f(name, built):
    """sh -n accepts it, and sh ran exactly the pcs commands our shlex reading finds."""
    s = BY_NAME[name]
    run(["sh", "-n", str(s.pcs)])
    argvs = pcs_argvs(s.pcs.read_text())
    seen = [a for a in built.pcs_logs[name] if a != ["--version"]]
    assert seen[0][:2] == ["cluster", "cib"] and seen[-1][:2] == ["cluster", "cib-push"]
    assert [a[2:] for a in seen[1:-1]] == [a[3:] for a in argvs]
    assert all(a[:1] == ["-f"] for a in seen[1:-1])


@pytest.mark.parametrize("key", BUILT_KEYS, ids=BUILT_IDS)
def test_loaded_cib_verifies(key, built):
    """crm_verify -x accepts the result with the shipped stonith-enabled=true (the test CIB
    has a dummy fence device and every node online)."""
    cib = built.cibs[key]
    assert summary(cib)["properties"].get("stonith-enabled") == "true"
    online = built.cib.online(cib, "verify-" + "-".join(map(str, key)))
    run(["crm_verify", "-V", "-x", str(online)])


# what pcs 0.11 prints on stderr for the commands the examples use: the defaults warning,
# and "Adding FIRST THEN (kind: KIND) (Options: ...)" for every order constraint; pcs 0.12
# (Debian 13) also runs IPaddr2's own validation, which fails here only because the test
# machine has no eth1 (the example's NIC)
PCS_CHATTER = re.compile(
    r"Warning: Defaults do not apply to resources which override them with their own "
    r"defined values|Adding \S+ \S+ \(kind: (Mandatory|Optional)\) "
    r"|Warning: Validating resource options using the resource agent itself is enabled by "
    r"default and produces warnings\.|Warning: Validation result from agent:$"
    r"|\s+.* ERROR: Invalid interface name \[eth1\]: Device \"eth1\" does not exist\.$"
    r"|\s+ocf-exit-reason:\[findif\] failed$")


@pytest.mark.parametrize("key", BUILT_KEYS, ids=BUILT_IDS)
def test_tools_accept_it_without_a_word(key, built):
    """No warning from crmsh (it checks parameters and op timeouts against the agents'
    meta-data) or pcs, unless an agent is not installed yet and had to be forced."""
    name, tool, _ = key
    s = BY_NAME[name]
    if built.cib.forced(s.crm):
        pytest.skip(f"agents not installed yet: {sorted(built.cib.missing)}")
    lines = built.stderr[key].splitlines()
    if tool == "pcs":
        lines = [line for line in lines if not PCS_CHATTER.match(line)]
    assert lines == []


@pytest.mark.parametrize("name", SCENARIO_IDS)
def test_crm_and_pcs_define_the_same(name, built):
    crm = summary(built.cibs[(name, "crm", 2)])
    pcs = summary(built.cibs[(name, "pcs", 2)])
    for part in crm:
        assert crm[part] == pcs[part], f"{name}: {part} differ between crm and pcs"
    if name == THREE_NODES:
        assert summary(built.cibs[(name, "crm", 3)]) == crm


def expected_constraints(sm: dict) -> tuple[set, set, dict]:
    """The colocations, orders and locations of the hot-standby layout
    (crm-examples/README.md), from the resources alone: (rsc, role, with-rsc, role, score),
    (first, action, then, action, kind) and {id: (rsc, rule)} as summary() gives them."""
    lay = layout(sm)
    prims = sm["primitives"]
    sync = lay.sync_clone
    # directors that are also real servers (IPaddr2 lvs_support): each director's table
    # after its sync daemon, so backup_only is in force before a backup holds a service
    serving = any(prims[a]["params"].get("lvs_support") == "true" for a in lay.addresses)
    cols, ords, locs = set(), set(), {}
    tops = {lay.top[a] for a in lay.addresses}
    for svc, svc_clone in lay.services.items():
        if serving:
            ords.add((sync, "start", svc_clone, "start", "Mandatory"))
        params = prims[svc]["params"]
        for top in tops:
            ips = [prims[a]["params"]["ip"] for a in lay.addresses if lay.top[a] == top]
            inet6 = ":" in ips[-1]
            if params.get("vip") in ips or (
                    "fwmark" in params and inet6 == (params.get("family") == "inet6")):
                cols.add((top, "", svc_clone, "", "INFINITY"))
                ords.add((svc_clone, "start", top, "start", "Mandatory"))
    for rs, rs_clone in lay.real_servers.items():
        svc_clone = lay.services[lay.service_of[rs]]
        cols.add((rs_clone, "", svc_clone, "", "INFINITY"))
        ords.add((svc_clone, "start", rs_clone, "start",
                  "Mandatory" if serving else "Optional"))
    if sync:
        # the first address is the active director: the others and the Promoted role follow it
        anchor = lay.top[lay.addresses[0]]
        cols.add((sync, "Promoted", anchor, "", "INFINITY"))
        cols.update((top, "", anchor, "", "INFINITY") for top in tops - {anchor})
        if lay.backup_only:
            ords.update((sync, "promote", top, "start", "Mandatory") for top in tops)
        # ... and prefers the warmest sync backup (the promotion score as location score)
        score = f"master-{lay.sync}"
        locs[f"{anchor}-on-warm-sync"] = (anchor, None, None, score, "and",
                                          ((score, "defined", "string", None),))
    return cols, ords, locs


@pytest.mark.parametrize("name", SCENARIO_IDS)
def test_layout_is_hot_standby(name, built):
    """The table (services, real servers) is a clone on every director; the addresses are
    not; the first VIP is the active director, the Promoted sync instance follows it; the
    constraints are exactly those of crm-examples/README.md."""
    sm = summary(built.cibs[(name, "crm", 2)])
    lay, prims, clones = layout(sm), sm["primitives"], sm["clones"]
    assert len([p for p in prims.values() if p["agent"] == AGENT_SYNC]) <= 1
    if lay.sync:
        meta = clones[lay.sync_clone]["meta"]
        assert meta.get("promotable") == "true" and meta.get("promoted-max") == "1"
        # where directors serve too, a backup never balances (the default, written out)
        if any(prims[a]["params"].get("lvs_support") == "true" for a in lay.addresses):
            assert prims[lay.sync]["params"].get("backup_only") == "true"
    cols, ords, locs = expected_constraints(sm)
    assert sorted(sm["colocations"].values()) == sorted(cols)
    assert sorted(sm["orders"].values()) == sorted(ords)
    assert sm["locations"] == locs
    assert not sm["other_constraints"]
    for pid in lay.table:
        clone = clones.get(lay.top[pid])
        assert clone is not None, f"{pid} is not cloned"
        assert not {"promotable", "clone-max", "clone-node-max"} & set(clone["meta"])
    for svc, cid in lay.services.items():
        assert clones[cid]["meta"] == {"interleave": "true"}
        meta = prims[svc]["meta"]
        assert meta.get("migration-threshold") == "1", f"{svc}: fails over, never restarts"
        assert 0 < duration_ms(meta.get("failure-timeout")) <= 60000
    for rs, cid in lay.real_servers.items():
        mandatory = (lay.services[lay.service_of[rs]], "start", cid, "start",
                     "Mandatory") in ords
        assert clones[cid]["meta"] == ({"interleave": "true"} if mandatory else {})
        assert prims[rs]["params"].get("drain_timeout") == "0"
    tops = {lay.top[a] for a in lay.addresses}
    assert tops and not tops & set(clones)
    assert lay.sync or len(tops) == 1, "without a sync daemon one resource is the VIP"
    vips = {prims[s]["params"].get("vip") for s in lay.services}
    for gid, members in sm["groups"].items():
        assert gid in tops and {prims[m]["agent"] for m in members} == {AGENT_VIP}
        assert prims[members[-1]]["params"]["ip"] in vips, f"{gid}: the VIP comes last"
    assert int(sm["rsc_defaults"].get("resource-stickiness", "0")) > 0


def _of(sm: dict, agent: str) -> list[dict[str, str]]:
    return [p["params"] for p in sm["primitives"].values() if p["agent"] == agent]


def test_scenario_features(built):
    """What each scenario is there to show."""
    sm = {name: summary(built.cibs[(name, "crm", 2)]) for name in SCENARIO_IDS}

    web = sm["1-nat-web"]
    rss = _of(web, AGENT_REALSERVER)
    assert len(rss) == 3 and layout(web).sync is None
    assert all(p["method"] == "masq" and p["check_type"] == "http" and p["request"]
               and p["receive"] for p in rss)

    dr = sm["2-dr-sync"]
    assert {p["method"] for p in _of(dr, AGENT_REALSERVER)} == {"gate"}
    assert len(_of(dr, AGENT_SYNC)) == 1

    loop = sm["3-dr-directors"]
    assert [p.get("lvs_support") for p in _of(loop, AGENT_VIP)] == ["true"]
    assert [p.get("backup_only") for p in _of(loop, AGENT_SYNC)] == ["true"]

    fwm = sm["4-fwmark-persistence"]
    services = _of(fwm, AGENT_SERVICE)
    assert {p["family"] for p in services} == {"inet", "inet6"}
    assert all(p["fwmark"] and int(p["persistent"]) > 0 and p["netmask"] for p in services)
    (sync,) = _of(fwm, AGENT_SYNC)
    assert all(int(sync[k]) > 0 for k in ("timeout_tcp", "timeout_tcpfin", "timeout_udp"))

    dns = sm["5-udp-dns"]
    (svc,) = _of(dns, AGENT_SERVICE)
    assert svc["protocol"] == "udp" and svc["fallback"] and svc["ops"] == "true"
    assert {p["check_type"] for p in _of(dns, AGENT_REALSERVER)} == {"dns"}
    assert layout(dns).sync is None


def interface_parameters() -> dict[str, set[str]]:
    """Parameter names per lvsocf agent, as docs/interfaces.md lists them."""
    text = INTERFACES.read_text().split("## Agent parameters", 1)[1].split("\n## ", 1)[0]
    names: dict[str, set[str]] = {}
    identity: set[str] = set()
    for para in text.split("\n\n"):
        words = set(re.findall(r"`([a-z][a-z0-9_]*)`", para))
        head = para.strip()
        if head.startswith("Service identity"):
            identity = words
        for agent in ("IPVSService", "IPVSRealServer", "IPVSSync"):
            if head.startswith(agent + ":") or head.startswith(agent + " "):
                names[agent] = words | (identity if "identity" in head.split(":")[1][:20]
                                        else set())
    assert set(names) == {"IPVSService", "IPVSRealServer", "IPVSSync"}
    return names


def _metadata_parameters(xml: str) -> set[str]:
    root = etree.fromstring(xml.encode())
    return {p.get("name") for p in root.iter("parameter")}


def test_every_parameter_exists(built, installed_agents):
    """Each parameter the examples set is in the agent's meta-data when the agent is
    installed, otherwise in docs/interfaces.md (the contract the agent is written to)."""
    documented = interface_parameters()
    known = {f"ocf:lvsocf:{a}": (_metadata_parameters(installed_agents[a])
                                 if a in installed_agents else documented[a])
             for a in documented}
    known[AGENT_VIP] = _metadata_parameters(agent_metadata(AGENT_VIP))
    unknown = []
    for name in SCENARIO_IDS:
        for pid, p in summary(built.cibs[(name, "crm", 2)])["primitives"].items():
            if p["agent"] in known:
                unknown += [f"{name}: {pid}: {k}" for k in p["params"]
                            if k not in known[p["agent"]]]
    assert not unknown


DOC_NETS = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24",
                                              "2001:db8::/32")]


def test_only_documentation_addresses():
    v4 = re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])")
    v6 = re.compile(r"(?<![\w:])[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")
    seen = 0
    for path in sorted(p for p in EXAMPLES.rglob("*") if p.is_file()):
        text = path.read_text()
        for token in v4.findall(text) + v6.findall(text):
            try:
                addr = ipaddress.ip_address(token)
            except ValueError:
                continue
            if (addr.version == 4 and token.startswith("255.")) or addr.is_multicast:
                continue  # a netmask, the kernel's sync group 224.0.0.81
            seen += 1
            assert any(addr in net for net in DOC_NETS), f"{path.name}: {token}"
    assert seen > 20


def test_fencing_block_is_the_same_everywhere():
    for attr in ("crm", "pcs"):
        blocks = {fencing_block(getattr(s, attr).read_text()) for s in SCENARIOS}
        assert len(blocks) == 1, f"the {attr} FENCING blocks differ"
        (block,) = blocks
        assert "stonith-enabled=true" in block and "fence_ipmilan" in block


def test_fencing_block_uncommented_loads(offline_cib, tmp_path):
    """The marked place for the site's fence devices works: the FENCING block (the same in
    every example) with its command lines uncommented loads, with crmsh and with pcs, into a
    CIB without any other fence device; both define the same devices, and crm_verify passes
    with stonith enabled."""
    s = SCENARIOS[0]
    crm_file, pcs_file = tmp_path / "fencing.crm", tmp_path / "fencing.pcs.sh"
    crm_file.write_text(uncomment_fencing(fencing_block(s.crm.read_text())))
    pcs_file.write_text("\n".join(["#!/bin/sh", *PCS_PROLOGUE,
                                    uncomment_fencing(fencing_block(s.pcs.read_text())),
                                    *PCS_EPILOGUE, ""]))
    crm = offline_cib.new("fence-crm", fence_test=False)
    assert offline_cib.crm_load(crm, crm_file) == ""
    pcs = offline_cib.new("fence-pcs", fence_test=False)
    offline_cib.pcs_run(pcs, pcs_file)
    want = {"fence-node1": "node1", "fence-node2": "node2"}
    for cib in (crm, pcs):
        prims = summary(cib)["primitives"]
        fences = {k: v for k, v in prims.items() if v["agent"].startswith("stonith:")}
        assert {k: v["params"]["pcmk_host_list"] for k, v in fences.items()} == want
        assert all(v["agent"] == "stonith:fence_ipmilan" for v in fences.values())
        run(["crm_verify", "-V", "-x", str(offline_cib.online(cib, cib.stem + "-online"))])
    assert summary(crm) == summary(pcs)


def test_examples_tree_has_nothing_unexpected():
    for s in SCENARIOS:
        names = {p.name for p in s.directory.iterdir()}
        assert names == {s.crm.name, s.pcs.name, "README.md"}, s.name
    assert {p.name for p in EXAMPLES.iterdir() if p.is_file()} == {"README.md"}


def test_readmes_name_real_files():
    for s in SCENARIOS:
        for ref in re.findall(r"`([\w.-]+\.(?:crm|pcs\.sh))`", s.readme.read_text()):
            assert (s.directory / ref).is_file() or Path(EXAMPLES, ref).is_file(), ref
