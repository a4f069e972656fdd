"""Fixtures and helpers for the `lvsocf status` tests: a constructed director (kernel view
plus state records)."""
from __future__ import annotations

import pytest

from lvsocf.cli.report import KernelView, StateView
from lvsocf.ipvs.model import (
    RealServer,
    RealServerInfo,
    Service,
    ServiceInfo,
    ServiceKey,
    Stats,
    SyncDaemon,
    Timeouts,
)
from lvsocf.records import CheckSpec, HealthRecord, RealServerRecord, key_from_json

NOW = 1_700_000_000.0
WEB = ServiceKey("tcp", "10.0.0.1", 80)
DNS6 = ServiceKey("udp", "2001:db8::1", 53)
MARK = ServiceKey(fwmark=7)
WEB_KEY = {"protocol": "tcp", "address": "10.0.0.1", "port": 80, "fwmark": 0, "family": "inet"}
DNS6_KEY = {"protocol": "udp", "address": "2001:db8::1", "port": 53, "fwmark": 0,
            "family": "inet6"}
DEAD_PID = 2 ** 22 + 17     # above pid_max: never running


def rs_info(address, port, method="masq", weight=1, active=0, inactive=0, stats=None):
    return RealServerInfo(RealServer(address, port, method, weight), active, inactive, 0,
                          stats or Stats())


def health(key, address, port, state="up", **extra):
    """A `health` record as the engine writes it (lvsocf.records); `extra` may spoil it."""
    record = HealthRecord(key_from_json(key), address, port, state, state in ("up", "soft_down"),
                          check="tcp", since=NOW - 185, last_check=NOW - 2, latency=0.0004,
                          detail="connected", weight=3, configured_weight=3,
                          engine_pid=1).to_json()
    record.update(extra)
    return record


def rs_record(key, address, port, action="quiescent"):
    return RealServerRecord(key_from_json(key), RealServer(address, port, "masq", 3),
                            CheckSpec("tcp"), action).to_json()


@pytest.fixture
def kernel() -> KernelView:
    return make_kernel()


@pytest.fixture
def records() -> StateView:
    return make_records()


def make_kernel() -> KernelView:
    web_stats = Stats(conns=1234567, inpkts=10, outpkts=9, inbytes=600, outbytes=5400, cps=3,
                      inpps=12, outpps=11, inbps=2500, outbps=1_500_000)
    web = ServiceInfo(Service(WEB, "wlc", persistent=300, netmask="255.255.255.0"), web_stats)
    dns6 = ServiceInfo(Service(DNS6, "rr", sched_flags=frozenset({"flag-1"}), one_packet=True))
    mark = ServiceInfo(Service(MARK, "sh", sched_flags=frozenset({"sh-port"})))
    return KernelView(
        loaded=True, version="1.2.1", conn_tab_size=4096,
        table=[
            (web, [rs_info("10.0.1.1", 80, weight=3, active=7, inactive=2,
                           stats=Stats(conns=1234000, cps=2, inbps=2000)),
                   rs_info("10.0.1.2", 80, weight=0),
                   rs_info("10.0.1.3", 80, weight=1),
                   rs_info("127.0.0.1", 8080, weight=1)]),
            (dns6, [rs_info("2001:db8::10", 53, "gate", 2),
                    rs_info("2001:db8::11", 53, "gate", 2)]),
            (mark, [rs_info("10.0.2.1", 0, "ipip", 1)]),
        ],
        daemons=[SyncDaemon("master", "sync0", 5, 0, "224.0.0.81", 8848, 1),
                 SyncDaemon("backup", "sync0", 5, 1400, None, 0, 0)],
        timeouts=Timeouts(900, 120, 300),
        sysctls={"sync_threshold": [3, 50], "sync_refresh_period": 0, "sync_retries": 0,
                 "backup_only": 0, "sloppy_tcp": 1, "expire_nodest_conn": None,
                 "expire_quiescent_template": 0},
    )


def make_records() -> StateView:
    return StateView(
        directory="/run/lvsocf",
        records={
            "services": {
                "web": {"key": WEB_KEY, "fallback": {"address": "127.0.0.1", "port": 8080,
                                                     "method": "masq"}},
                "gone": {"key": {**WEB_KEY, "port": 443}, "fallback": None},
                "broken-svc": {"key": {"protocol": "icmp", "address": "10.0.0.1", "port": 1}},
            },
            "realservers": {
                "web-rs1": rs_record(WEB_KEY, "10.0.1.1", 80),
                "web-rs2": rs_record(WEB_KEY, "10.0.1.2", 80),
                "web-rs9": rs_record(WEB_KEY, "10.0.1.9", 80, action="remove"),
                "web-rs5": rs_record(WEB_KEY, "10.0.1.5", 80),
                "dns2": rs_record(DNS6_KEY, "2001:db8::11", 53),
            },
            "health": {
                "web-rs1": health(WEB_KEY, "10.0.1.1", 80),
                "web-rs2": health(WEB_KEY, "10.0.1.2", 80, "down", healthy=False, weight=0,
                                  latency=3.0, detail="timed out after 3s", since=NOW - 45),
                "web-rs9": health(WEB_KEY, "10.0.1.9", 80, "down", healthy=False, weight=0,
                                  detail="Connection refused"),
                "web-rs8": health(WEB_KEY, "10.0.1.8", 80),
                "web-rs1-copy": health(WEB_KEY, "10.0.1.1", 80),
                "dns": health(DNS6_KEY, "2001:db8::10", 53, "soft_down", weight=2,
                              configured_weight=2, engine_pid=DEAD_PID,
                              check={"kind": "dns"}, detail="SERVFAIL"),
                "bogus-state": health(WEB_KEY, "10.0.1.3", 80, "sideways"),
                "not-a-dict": ["up"],
                "bad-address": health(WEB_KEY, "ten.zero", 80),
                "other-svc": health({**WEB_KEY, "port": 8443}, "10.0.1.1", 8443),
            },
            "sync": {"sync": {"backup_since": NOW - 3600}},
            "engine": {"status": {"pid": 1, "started": NOW - 7200, "registrations": 5,
                                  "checks": 12345, "failures": 17, "healthy": 3, "down": 2,
                                  "at": NOW - 1, "max_rss_kib": 30000}},
        },
        unreadable=[("health", "corrupt", "not valid JSON: Expecting value: line 1 column 1 "
                                          "(char 0)")],
    )
