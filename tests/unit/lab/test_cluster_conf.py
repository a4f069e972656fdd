"""lab.cluster's corosync.conf (the lab's clusters; what corosync then runs with is read
back from its runtime map in every failover scenario, lab.cluster.Cluster.totem)."""
from types import SimpleNamespace

from lab.cluster import corosync_conf


def test_corosync_conf_sets_consensus_only_when_asked():
    nodes = [SimpleNamespace(ring_addr=f"198.18.1.{i}", name=f"node{i}", nodeid=i)
             for i in (1, 2)]
    default = corosync_conf(nodes, 1000)
    assert "token: 1000" in default and "consensus" not in default
    short = corosync_conf(nodes, 1000, 200)
    assert "    consensus: 200\n" in short.split("nodelist")[0]     # inside totem {}
    assert "two_node: 1" in short
