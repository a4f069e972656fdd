"""keepalived peer of bench/failover: its configuration and the client-pause arithmetic."""
import subprocess

import pytest

from bench import failover as bench
from lab import failover
from lab import keepalived_peer as peer


def test_check_timing_follows_the_realserver_defaults():
    # IPVSRealServer: check_interval 5, check_timeout 3, fall 3
    assert peer.check_timing() == {"delay_loop": 5, "connect_timeout": 3, "retry": 2,
                                   "delay_before_retry": 5}


def test_sync_sysctls():
    assert peer.sync_sysctls("kernel") == {}
    assert peer.sync_sysctls("lvsocf") == {"net.ipv4.vs.sync_threshold": "0 0",
                                           "net.ipv4.vs.sync_refresh_period": "10",
                                           "net.ipv4.vs.sync_retries": "0"}
    with pytest.raises(ValueError):
        peer.sync_sysctls("fast")


def test_config_is_the_labs_service(tmp_path):
    conf = peer.keepalived_conf("node2", 100, peer.check_timing())
    for line in ("lvs_sync_daemon eth1 VI_1 id 20", "state BACKUP", "nopreempt",
                 "priority 100", "virtual_router_id 51", "advert_int 1",
                 "198.18.0.10/24 dev eth0", "virtual_server 198.18.0.10 443 {",
                 "real_server 198.18.0.11 443 {", "real_server 198.18.0.12 443 {",
                 "lvs_method DR", "status_code 200-299", "delay_loop 5"):
        assert line in conf
    path = tmp_path / "keepalived.conf"
    path.write_text(conf)
    done = subprocess.run(["keepalived", "-t", "-f", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def _probe(kind: str, t: float, down: float | None = None) -> dict:
    event = {"kind": kind, "t": t}
    if down is not None:
        event["down"] = down
    return event


def test_pause_counts_from_the_crash_not_from_the_first_failed_probe():
    # the first probe fails 2 s after the crash (its connect timeout), succeeds at 105
    events = [_probe("probe-failing", 102.0), _probe("probe-recovered", 105.0, 3.0)]
    assert failover.client_pause(events, crash_at=100.0) == 5.0


def test_pause_without_failures_or_recovery():
    assert failover.client_pause([], crash_at=100.0) == 0.0
    assert failover.client_pause([_probe("probe-failing", 101.0)], crash_at=100.0) is None
    # an unrelated failure long after the crash is not its pause
    late = [_probe("probe-failing", 200.0), _probe("probe-recovered", 201.0, 1.0)]
    assert failover.client_pause(late, crash_at=100.0) == 0.0
    # a failure before the crash and still on at the crash counts from the crash
    on = [_probe("probe-failing", 99.0), _probe("probe-recovered", 103.0, 4.0)]
    assert failover.client_pause(on, crash_at=100.0) == 3.0


def test_bench_table_ratios():
    run = {"pause": 4.0, "outage": 2.0, "vip": 3.0, "sync_master": 3.1, "kept": 16, "total": 16}
    results = {"lvsocf-t1000": [dict(run, pause=8.0, vip=6.0, failback_pause=8.8,
                                     totem={"token": 1000, "consensus": 1200})],
               "keepalived": [run],
               "lvsocf-t3000": [{"error": "TimeoutError: x"}]}
    text = "\n".join(bench.render(results))
    assert "2.00x" in text and "16/16" in text
    assert "failback / failover pause" in text and "1.10x" in text
    assert "lvsocf token 1000: not met (2.00x)" in text
    assert "lvsocf token 3000: a run failed: TimeoutError: x" in text
    assert "1000 / 1200 ms" in text     # what corosync ran with, not what was asked

