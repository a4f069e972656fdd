"""The lab's failover scenario reads the hot-standby layout from the CIB and scales example 2
to more real servers (offline: crmsh into a file CIB, no cluster)."""
from __future__ import annotations

import re

import pytest

from lab import example
from lab.demo import example_config


@pytest.fixture(scope="module")
def cib30(tmp_path_factory) -> str:
    config = example.more_real_servers(example_config(), 30)
    return example.build_cib(config, tmp_path_factory.mktemp("cib"), example.PROPERTIES)


def test_thirty_real_servers_each_cloned_colocated_and_ordered(cib30):
    layout = example.layout_of(cib30)
    real_servers = layout.table[1:]
    assert layout.table[0] == "www" and len(real_servers) == 30 == len(set(real_servers))
    rips = {example._rip_of(cib30, r) for r in real_servers}
    assert rips == set(example.REAL_SERVERS + example.extra_addresses(30))
    for rs in real_servers:
        assert re.search(rf'<clone id="{rs}-clone"', cib30)
        assert re.search(rf'rsc="{rs}-clone" with-rsc="www-clone"', cib30)
        assert re.search(rf'first="www-clone" then="{rs}-clone"', cib30)
    assert layout.moving == ("sync:Promoted", "www-vip")


def test_adapt_sets_the_lab_warmup_and_the_failback_rule():
    config = example_config()
    assert f"{example.SYNC_PARAMS} warmup={example.LAB_WARMUP}" in config
    assert "location www-vip-failback-node1 www-vip rule inf: #uname eq node1" in config
    assert "192.0.2." not in config and "stonith-enabled=false" in config


def test_a_group_layout_is_refused(tmp_path):
    group = ("primitive www ocf:lvsocf:IPVSService params vip=198.18.0.10 port=443\n"
             "primitive vip ocf:heartbeat:IPaddr2 params ip=198.18.0.10\n"
             "group lvs www vip\n")
    cib = example.build_cib(group, tmp_path, example.PROPERTIES)
    with pytest.raises(ValueError, match="hot-standby"):
        example.layout_of(cib)


def test_a_hundred_real_servers_keep_clear_of_the_lab_s_other_addresses():
    extra = example.extra_addresses(100)
    taken = {example.VIP, example.CLIENT, *example.REAL_SERVERS,
             *(f"198.18.0.{nodeid}" for nodeid in (1, 2, 3))}
    assert len(extra) == 98 == len(set(extra))
    assert not taken & set(extra)
    with pytest.raises(ValueError):
        example.extra_addresses(300)


def test_weights_are_read_from_the_real_server_lines_only():
    from lab import failover
    listing = (
        "IP Virtual Server version 1.2.1 (size=4096)\n"
        "Prot LocalAddress:Port Scheduler Flags\n"
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
        "TCP  198.18.0.10:443 wlc persistent 300\n"
        "  -> 198.18.0.11:443              Route   1      0          0\n"
        "  -> 198.18.0.12:443              Route   0      3          1\n")
    assert failover.parse_weights(listing) == {"198.18.0.11": 1, "198.18.0.12": 0}


def test_the_bring_up_budget_grows_with_the_table():
    from lab.failover import bring_up_budget
    assert bring_up_budget(2) == 600
    assert bring_up_budget(30) == 600 + 28 * 45 > bring_up_budget(3) > 600
