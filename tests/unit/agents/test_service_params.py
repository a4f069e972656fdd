"""IPVSService's parameters to a Service, offline: the combinations the kernel accepts but
that cannot work are refused at validate (exit 6) with a reason."""
import pytest

from lvsocf.agents.errors import ConfigError
from lvsocf.agents.service import desired

SIP = {"vip": "10.0.0.2", "port": 5060, "persistent": 30, "pe": "sip"}


@pytest.mark.parametrize("protocol", ["tcp", "sctp"])
def test_pe_sip_needs_udp(protocol):
    with pytest.raises(ConfigError, match=f"SIP over UDP only: set protocol=udp .*{protocol}"):
        desired({**SIP, "protocol": protocol})


def test_pe_sip_on_udp_and_fwmark():
    assert desired({**SIP, "protocol": "udp", "ops": True}).pe_name == "sip"
    assert desired({"fwmark": 5, "persistent": 30, "pe": "sip"}).pe_name == "sip"
