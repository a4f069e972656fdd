"""ping check: ICMP echo on loopback, and in a fresh network namespace for the unprivileged
datagram-socket path, blackholed and unroutable destinations."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from lvsocf.checks import Target, build_checker
from lvsocf.checks import ping as ping_mod


def _icmp_available() -> bool:
    import socket
    try:
        ping_mod.open_icmp_socket(socket.AF_INET)[0].close()
        return True
    except Exception:
        return False


needs_icmp = pytest.mark.skipif(not _icmp_available(), reason="no ICMP socket: not root and "
                                "gid outside net.ipv4.ping_group_range")


def ping(address, timeout=1.0):
    return asyncio.run(build_checker("ping", Target(address, None), {}).check(timeout))


@needs_icmp
@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_loopback_up(address):
    r = ping(address)
    assert r.ok, r
    assert r.detail.startswith("echo reply") and r.latency < 0.5


@needs_icmp
def test_shared_socket_many_concurrent_and_closed_after():
    async def main():
        checks = [build_checker("ping", Target(a, None), {}) for a in ("127.0.0.1", "::1")] * 100
        results = await asyncio.gather(*(c.check(2) for c in checks))
        return results, dict(ping_mod._PINGERS.get(asyncio.get_running_loop(), {}))
    results, left = asyncio.run(main())
    assert all(r.ok for r in results), [r for r in results if not r.ok][:3]
    assert left == {}                      # the shared sockets are closed when idle


@pytest.mark.skipif(os.geteuid() != 0, reason="raw ICMP sockets need root")
def test_raw_socket_path(monkeypatch):
    monkeypatch.setattr(ping_mod, "SOCKET_TYPES", ("raw",))
    for address in ("127.0.0.1", "::1"):
        r = ping(address)
        assert r.ok and r.detail == "echo reply (raw socket)", r


def test_no_usable_socket_is_a_failed_check_not_an_exception(monkeypatch):
    monkeypatch.setattr(ping_mod, "SOCKET_TYPES", ())
    r = ping("127.0.0.1")
    assert not r.ok and r.detail.startswith("cannot open an ICMP socket")


def test_checksum():
    # RFC 1071 example words 0001 f203 f4f5 f6f7 sum to ddf2; checksum is its complement
    assert ping_mod.checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0xFFFF - 0xDDF2


NETNS_SCRIPT = textwrap.dedent("""
    import asyncio, json, subprocess
    def ip(*args):
        subprocess.run(["ip", *args], check=True)
    ip("link", "set", "lo", "up")
    # routes via lo to addresses that are not local: packets loop back and are dropped
    ip("route", "add", "10.99.0.0/24", "dev", "lo")
    ip("-6", "route", "add", "2001:db8:99::/64", "dev", "lo")
    with open("/proc/sys/net/ipv4/ping_group_range", "w") as f:
        f.write("0 2147483647")
    from lvsocf.checks import Target, build_checker
    from lvsocf.checks import ping
    ping.SOCKET_TYPES = ("dgram",)      # only the unprivileged path
    CASES = {"v4": ("ping", "127.0.0.1", None), "v6": ("ping", "::1", None),
             "blackhole4": ("ping", "10.99.0.2", None),
             "blackhole6": ("ping", "2001:db8:99::2", None),
             "noroute4": ("ping", "198.51.100.1", None),
             "noroute6": ("ping", "2001:db8:1::1", None),
             "tcp_blackhole": ("tcp", "10.99.0.2", 80),
             "tcp_blackhole6": ("tcp", "2001:db8:99::2", 80)}
    async def main():
        names = list(CASES)
        results = await asyncio.gather(*(
            build_checker(k, Target(a, p), {}).check(0.4) for k, a, p in CASES.values()))
        return {n: [r.ok, r.detail, r.latency] for n, r in zip(names, results)}
    print(json.dumps(asyncio.run(main())))
""")


@pytest.fixture(scope="module")
def netns_results():
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare(1) for a private network namespace")
    proc = subprocess.run(["unshare", "--net", "--", sys.executable, "-c", NETNS_SCRIPT],
                          capture_output=True, text=True, timeout=20)
    if proc.returncode != 0 and "unshare failed" in proc.stderr:
        pytest.skip(f"cannot create a network namespace: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_dgram_socket_path_v4_v6(netns_results):
    for name in ("v4", "v6"):
        ok, detail, _ = netns_results[name]
        assert ok and detail == "echo reply (dgram socket)", (name, detail)


def test_blackhole_times_out(netns_results):
    for name in ("blackhole4", "blackhole6"):
        ok, detail, latency = netns_results[name]
        assert not ok and detail == "no echo reply within 0.4s", (name, detail)
        assert 0.35 < latency < 1.5


def test_no_route_fails_at_once(netns_results):
    for name in ("noroute4", "noroute6"):
        ok, detail, latency = netns_results[name]
        assert not ok and detail == "Network is unreachable" and latency < 0.3, (name, detail)


def test_tcp_connect_to_blackhole_times_out(netns_results):
    for name in ("tcp_blackhole", "tcp_blackhole6"):
        ok, detail, latency = netns_results[name]
        assert not ok and detail == "timed out after 0.4s" and latency >= 0.35, (name, detail)
