import pytest

from lvsocf.lab.netns import unshare_net


@pytest.fixture(autouse=True)
def fresh_netns():
    unshare_net()
