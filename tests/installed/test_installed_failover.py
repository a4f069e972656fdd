"""`make demo`'s scenario (crm example 2 as shipped, hot standby, on two live
Pacemaker/Corosync directors; a director killed, then failback by promotion score) on the
agents the .deb installed, not the checkout's."""
import pytest

from lvsocf.lab import failover
from lvsocf.lab.demo import example_config
from tests.cluster.test_failover import check_hot_standby
from tests.installed.conftest import AGENT_DIR


@pytest.mark.parametrize("installed", ["deb"], indirect=True)
def test_failover_and_failback_on_the_installed_agents(installed, tmp_path):
    assert "/usr/lib/lvsocf" in (AGENT_DIR / "IPVSRealServer").read_text()
    cib = failover.build_cib(example_config(), tmp_path, failover.PROPERTIES, installed=True)
    result = failover.run_scenario(cib, print, active=3, idle=9, keepalive=10, settle=30,
                                   installed=True)
    check_hot_standby(result, failover.layout_of(cib))
