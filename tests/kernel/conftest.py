import subprocess

import pytest

from lvsocf.lab.netns import unshare_net


@pytest.fixture(autouse=True)
def fresh_netns():
    """Every kernel test starts in its own empty network namespace: an empty IPVS table,
    default sysctls and timeouts, no daemons."""
    unshare_net()

@pytest.fixture
def k():
    from lvsocf.ipvs.netlink import Ipvs
    with Ipvs() as sock:
        yield sock

def ipvsadm(*args: str) -> str:
    return subprocess.run(["ipvsadm", *args], check=True, capture_output=True, text=True).stdout

def saved() -> set[str]:
    """The table as `ipvsadm -Sn` prints it, one rule per element: the independent reader."""
    return {line.strip() for line in ipvsadm("-Sn").splitlines() if line.strip()}
