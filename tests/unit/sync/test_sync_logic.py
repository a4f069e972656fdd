"""IPVSSync's pure logic: sysctls per role, warm-up and promotion scores, monitor answers,
daemon comparison and depth-0 validation."""
from __future__ import annotations

import pytest

from lvsocf.agents.base import (
    OCF_FAILED_PROMOTED,
    OCF_NOT_RUNNING,
    OCF_RUNNING_PROMOTED,
    OCF_SUCCESS,
    ArgsError,
    ConfigError,
)
from lvsocf.agents.params import read_params
from lvsocf.agents.sync import daemons, parameters, policy, validation
from lvsocf.ipvs.model import SyncDaemon


def params(**raw: object) -> dict:
    env = {f"OCF_RESKEY_{k}": str(v) for k, v in {"interface": "sync0", **raw}.items()}
    values, problems = read_params(parameters.PARAMETERS, env)
    if problems:
        raise ConfigError("; ".join(problems))
    return values


@pytest.mark.parametrize("raw,expected", [("0 0", (0, 0)), ("3 50", (3, 50)),
                                          (" 3\t50 ", (3, 50)), ("5 0", (5, 0))])
def test_threshold(raw, expected):
    assert parameters.parse_threshold(raw) == expected


@pytest.mark.parametrize("raw", ["", "3", "3 50 1", "-1 5", "a b", "50 50", "60 50", "३ 50"])
def test_threshold_rejected(raw):
    with pytest.raises(ConfigError):
        parameters.parse_threshold(raw)


def test_defaults_keep_idle_connections_alive():
    p = params()
    assert policy.sysctls(p, promoted=False) == {
        "sync_threshold": "0 0", "sync_refresh_period": 10, "sync_retries": 0,
        "sloppy_tcp": 0, "backup_only": 1}
    assert validation.warnings(p) == []
    validation.check_config(p)


def test_backup_only_is_off_where_the_node_balances():
    assert policy.sysctls(params(), promoted=True)["backup_only"] == 0
    assert policy.sysctls(params(backup_only="false"), promoted=False)["backup_only"] == 0
    assert policy.sysctls(params(backup_only="false"), promoted=True)["backup_only"] == 0


def test_warmup():
    # refresh period + established timeout + margin: every live connection resent by then
    assert policy.warmup_seconds(params(), tcp_timeout=None) == 10 + 900 + 5
    assert policy.warmup_seconds(params(), tcp_timeout=300) == 10 + 300 + 5
    assert policy.warmup_seconds(params(timeout_tcp=30), tcp_timeout=300) == 10 + 30 + 5
    assert policy.warmup_seconds(params(sync_refresh_period=0, sync_threshold="3 50"),
                               tcp_timeout=60) == 65
    assert policy.warmup_seconds(params(warmup=0), tcp_timeout=300) == 0
    assert policy.warmup_seconds(params(warmup=42), tcp_timeout=300) == 42


def test_scores():
    assert policy.score(False, None, 10, now=100) == policy.SCORE_WARMING
    assert policy.score(False, 95, 10, now=100) == policy.SCORE_WARMING
    assert policy.score(False, 90, 10, now=100) == policy.SCORE_WARM
    assert policy.score(True, 99, 10, now=100) == policy.SCORE_PROMOTED
    assert policy.score(True, None, 10, now=100) == policy.SCORE_PROMOTED
    # Without resource-stickiness, a Promoted preference between 2 and 99 fails back after
    # the warm-up, never before it (with stickiness, the examples' rule on the warm score).
    for preference in (2, 50, 99):
        assert policy.SCORE_WARMING + preference < policy.SCORE_PROMOTED
        assert policy.SCORE_WARM + preference > policy.SCORE_PROMOTED
    assert 0 < policy.SCORE_WARMING < policy.SCORE_WARM < policy.SCORE_PROMOTED


def daemon(state: str, **kw) -> SyncDaemon:
    return SyncDaemon(state, kw.pop("interface", "sync0"), kw.pop("syncid", 0), **kw)


def test_classify():
    m, b = daemon("master"), daemon("backup")
    assert policy.classify({"master": m, "backup": b}, True) == OCF_RUNNING_PROMOTED
    assert policy.classify({"master": m}, False) == OCF_RUNNING_PROMOTED
    assert policy.classify({"backup": b}, True) == OCF_FAILED_PROMOTED
    assert policy.classify({}, True) == OCF_FAILED_PROMOTED
    assert policy.classify({"backup": b}, False) == OCF_SUCCESS
    assert policy.classify({}, False) == OCF_NOT_RUNNING


def test_mismatches():
    want = daemons.daemon_config(params(syncid=5, mcast_group="239.1.1.1", mcast_port=9000),
                              "backup")
    assert want == SyncDaemon("backup", "sync0", 5, 0, "239.1.1.1", 9000, 0)
    same = daemon("backup", syncid=5, mcast_group="239.1.1.1", mcast_port=9000,
                  mcast_ttl=1, maxlen=1472)
    assert daemons.mismatches(want, same) == []
    assert daemons.mismatches(want, daemon("backup", syncid=6, mcast_group="239.1.1.1",
                                        mcast_port=9000)) == ["syncid 6 instead of 5"]
    other = daemon("backup", interface="eth1", syncid=5, mcast_group="239.1.1.2",
                   mcast_port=8848)
    assert len(daemons.mismatches(want, other)) == 3
    # unset options are the kernel's: not compared
    assert daemons.mismatches(daemons.daemon_config(params(), "master"),
                           daemon("master", mcast_port=8848, mcast_ttl=1)) == []


@pytest.mark.parametrize("raw,words", [
    ({"sync_threshold": "0 0", "sync_refresh_period": 0}, "never syncs"),
    ({"sync_refresh_period": 30, "timeout_tcp": 30}, "not shorter than timeout_tcp"),
    ({"sync_refresh_period": 60, "timeout_tcp": 30}, "not shorter than timeout_tcp"),
    ({"mcast_group": "10.0.0.1"}, "not a multicast address"),
    ({"mcast_group": "2001:db8::1"}, "not a multicast address"),
    ({"mcast_group": "multicast"}, "not an IP address"),
    ({"sync_threshold": "50 50"}, "below the period"),
])
def test_check_refuses(raw, words):
    with pytest.raises(ConfigError, match=words):
        validation.check_config(params(**raw))


@pytest.mark.parametrize("raw", [{"syncid": 256}, {"syncid": -1}, {"mcast_port": 0},
                                 {"mcast_ttl": 256}, {"sync_retries": 4},
                                 {"backup_only": "maybe"}, {"warmup": -1}])
def test_parameters_out_of_range(raw):
    with pytest.raises(ConfigError):
        params(**raw)


def test_check_accepts_and_warns():
    for raw in ({"mcast_group": "239.1.2.3"}, {"mcast_group": "ff02::8848"},
                {"sync_threshold": "3 0", "sync_refresh_period": 0},
                {"sync_refresh_period": 29, "timeout_tcp": 30}):
        validation.check_config(params(**raw))
    assert "sync_threshold \"0 0\"" in validation.warnings(params(sync_threshold="3 50"))[0]
    assert "packet count only" in validation.warnings(params(sync_threshold="3 50",
                                                       sync_refresh_period=0))[0]


def test_clone_node_max(monkeypatch):
    monkeypatch.setenv("OCF_RESKEY_CRM_meta_clone_node_max", "2")
    with pytest.raises(ConfigError, match="clone-node-max"):
        validation.check_config(params())


def test_check_host_interface():
    with pytest.raises(ArgsError, match="does not exist"):
        validation.check_host(params(interface="nosuchif0"), None)
    with pytest.raises(ArgsError, match="does not exist"):
        validation.check_host(params(interface="../x"), None)
    validation.check_host(params(interface="lo"), None)       # 127.0.0.1
    with pytest.raises(ArgsError, match="TCP established timeout 10"):
        validation.check_host(params(interface="lo", sync_refresh_period=10), 10)
    validation.check_host(params(interface="lo", sync_refresh_period=10, timeout_tcp=60), 10)
