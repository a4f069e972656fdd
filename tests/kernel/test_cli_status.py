"""`lvsocf status` against a real IPVS table, cross-checked with ipvsadm (the independent
reader): services, real servers, weights, connections, counters and rates, sync daemons,
sysctls and timeouts, joined with the health records of the real check engine (lvsocf.engine)
and hand-written broken or stale records in a LVSOCF_STATE_DIR."""
from __future__ import annotations

import json
import os
import time

import pytest

from lab.netns import run
from lvsocf import state
from lvsocf.cli import status
from lvsocf.ipvs import sysctl
from lvsocf.ipvs.model import RealServer, Service, ServiceKey, SyncDaemon, Timeouts
from lvsocf.records import CheckSpec, RealServerRecord, ServiceRecord, key_to_json
from tests.kernel.conftest import LongLivedClient, ipvsadm, start_echo_server

WEB = ServiceKey("tcp", "10.0.0.1", 80)
DNS6 = ServiceKey("udp", "2001:db8::1", 53)
MARK = ServiceKey(fwmark=7)
DEAD_PID = 2 ** 22 + 17
METHODS = {"masq": "Masq", "gate": "Route", "ipip": "Tunnel", "local": "Local"}
STATS = ("conns", "inpkts", "outpkts", "inbytes", "outbytes")
RATES = ("cps", "inpps", "outpps", "inbps", "outbps")


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LVSOCF_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def json_status(capsys) -> dict:
    capsys.readouterr()
    assert status.run(["--json"]) == 0
    return json.loads(capsys.readouterr().out)


def ipvsadm_table(*flags: str) -> dict[tuple[str, str | None], list[str]]:
    """`ipvsadm -Ln FLAGS` as {(service, real server or None): the remaining words}."""
    table: dict[tuple[str, str | None], list[str]] = {}
    current = ""
    for line in ipvsadm("-Ln", *flags).splitlines()[3:]:
        words = line.split()
        if words[0] == "->":
            table[(current, words[1])] = words[2:]
        else:
            current = f"{words[0]} {words[1]}"
            table[(current, None)] = words[2:]
    return table


def our_table(doc: dict) -> dict[tuple[str, str | None], dict]:
    """The JSON document keyed like ipvsadm_table (kernel entries only)."""
    out = {}
    for svc in doc["services"]:
        key = svc["key"]
        if key["fwmark"]:
            name = f"FWM {key['fwmark']}"
        else:
            host = f"[{key['address']}]" if key["family"] == "inet6" else key["address"]
            name = f"{key['protocol'].upper()} {host}:{key['port']}"
        out[(name, None)] = svc
        for rs in svc["real_servers"]:
            if rs["in_table"]:
                host = f"[{rs['address']}]" if ":" in rs["address"] else rs["address"]
                out[(name, f"{host}:{rs['port']}")] = rs
    return out


@pytest.fixture
def engine(state_dir):
    """The real check engine (lvsocf.engine), started the way the agents start it; killed
    at the end (it never changes the kernel when it stops)."""
    from lvsocf.engine import client, files
    yield client
    pid = files.read_pid()
    if pid:
        try:
            os.kill(pid, 15)
        except ProcessLookupError:
            pass


def register(name: str, address: str, port: int, weight: int) -> None:
    """A `realservers` record, as IPVSRealServer start writes it: the engine's input."""
    RealServerRecord(WEB, RealServer(address, port, "masq", weight),
                     CheckSpec("tcp", (), 1.0, 1.0, 1, 1)).write(name)


def test_table_health_counters_and_rates_match_ipvsadm(k, nat_topology, state_dir, engine,
                                                       capsys):
    topo, cl, rs_ns = nat_topology
    k.add_service(Service(WEB, "wlc"))
    k.add_real_server(WEB, RealServer("10.0.1.1", 80, "masq", 1))
    k.add_real_server(WEB, RealServer("10.0.1.2", 80, "masq", 4))
    k.add_service(Service(ServiceKey("tcp", "10.0.0.1", 443), "sh", persistent=300,
                          sched_flags=frozenset({"sh-port"})))
    k.add_service(Service(DNS6, "rr", one_packet=True))
    k.add_real_server(DNS6, RealServer("2001:db8::10", 53, "gate", 2))
    k.add_service(Service(MARK, "wrr"))
    k.add_real_server(MARK, RealServer("10.0.2.1", 0, "ipip", 5))
    start_echo_server(topo, rs_ns, "10.0.1.1", 80)
    # the real engine checks web's two real servers and sets their weights: 10.0.1.1
    # answers (up: configured weight 3), 10.0.1.2 does not exist (down: quiescent, weight 0)
    ServiceRecord(WEB).write("web")
    register("web-rs1", "10.0.1.1", 80, 3)
    register("web-rs2", "10.0.1.2", 80, 4)
    engine.ensure_running(120)
    engine.notify()
    for name, want in (("web-rs1", (True, 3)), ("web-rs2", (False, 0))):
        engine.wait_for(lambda r, want=want: r is not None and (r.healthy, r.weight) == want,
                        name, 120, restart=False)
    # hand-written state around it: a stale record, a record without a table entry, a
    # corrupt file
    now = time.time()
    state.write("health", "mark-rs", {
        "service": key_to_json(MARK), "address": "10.0.2.1", "port": 0, "check": "ping",
        "state": "soft_up", "healthy": False, "since": now - 40, "last_check": now - 30,
        "latency": 0.5, "detail": "echo reply", "weight": 5, "configured_weight": 5,
        "engine_pid": DEAD_PID})
    state.write("health", "web-rs9", {
        "service": key_to_json(WEB), "address": "10.0.1.9", "port": 80, "state": "up",
        "healthy": True})
    (state_dir / "health" / "corrupt.json").write_text('{"service": ')
    # one real connection through the NAT service, still open
    client = LongLivedClient(topo, cl, "10.0.0.1", 80)
    assert client.talk("hello") == "hello"
    assert client.talk("again") == "again"

    # Totals and rates are folded in from per-CPU counters by the kernel's estimator every
    # 2 s: wait until ipvsadm sees the whole exchange (a snapshot can fall between packets),
    # then compare with ipvsadm reading the same values just before and just after us.
    def counted(words: list[str]) -> bool:
        return words[0] == "1" and int(words[1]) >= 4 and int(words[4]) > 0

    deadline = time.monotonic() + 60
    while not counted(ipvsadm_table("--stats", "--exact")[("TCP 10.0.0.1:80", "10.0.1.1:80")]):
        assert time.monotonic() < deadline, "the estimator never counted the whole exchange"
        time.sleep(0.5)
    for _ in range(20):
        before = (ipvsadm_table(), ipvsadm_table("--stats", "--exact"),
                  ipvsadm_table("--rate", "--exact"))
        doc = json_status(capsys)
        if before == (ipvsadm_table(), ipvsadm_table("--stats", "--exact"),
                      ipvsadm_table("--rate", "--exact")):
            break
    else:
        pytest.fail("the IPVS counters never held still for one read")
    listing, stats, rates = before
    ours = our_table(doc)
    assert set(ours) == set(listing) == set(stats) == set(rates)
    for where, words in listing.items():
        entry = ours[where]
        if where[1] is None:
            assert words[0] == entry["scheduler"], where
            assert ("persistent" in words) == bool(entry["persistent"]), where
            if entry["persistent"]:
                assert words[words.index("persistent") + 1] == str(entry["persistent"])
        else:
            assert words == [METHODS[entry["method"]], str(entry["weight"]),
                             str(entry["active_conns"]), str(entry["inactive_conns"])], where
    for where, words in stats.items():
        assert words == [str(ours[where]["stats"][name]) for name in STATS], where
    for where, words in rates.items():
        assert words == [str(ours[where]["stats"][name]) for name in RATES], where
    rs1 = ours[("TCP 10.0.0.1:80", "10.0.1.1:80")]
    assert rs1["active_conns"] == 1 and rs1["stats"]["conns"] == 1
    assert rs1["stats"]["inpkts"] >= 4 and rs1["stats"]["outbytes"] > 0
    assert ours[("TCP 10.0.0.1:80", None)]["stats"] == rs1["stats"]

    # the health join (the engine's own records) and the issues
    h1 = rs1["health"]
    assert (h1["state"], h1["healthy"], h1["weight"], h1["configured_weight"], h1["check"]) \
        == ("up", True, 3, 3, "tcp")
    assert h1["engine_running"] is True and h1["detail"] == "connected"
    assert 0 < h1["latency"] < 1 and h1["since"] <= doc["time"] and rs1["weight"] == 3
    assert rs1["resource"] == "web-rs1" and rs1["failure_action"] == "quiescent"
    rs2 = ours[("TCP 10.0.0.1:80", "10.0.1.2:80")]
    h2 = rs2["health"]
    assert (h2["state"], h2["healthy"], rs2["weight"], h2["configured_weight"]) == \
        ("down", False, 0, 4)
    assert h2["detail"] and h2["engine_running"] is True
    engine_pid = h1["engine_pid"]
    assert doc["engine"] is None or doc["engine"]["pid"] == engine_pid
    mark = ours[("FWM 7", "10.0.2.1:0")]["health"]
    assert mark["state"] == "soft_up" and mark["engine_running"] is False
    assert ours[("UDP [2001:db8::1]:53", None)]["one_packet"] is True
    assert ours[("TCP 10.0.0.1:443", None)]["sched_flags"] == ["sh-port"]
    issues = {(i["kind"], i["record"]) for i in doc["issues"]}
    unmanaged = sorted(i["message"].split(": in the IPVS table")[0] for i in doc["issues"]
                       if i["kind"] == "unmanaged")
    assert unmanaged == ["tcp 10.0.0.1:443", "udp [2001:db8::1]:53"]
    assert issues - {("unmanaged", None)} == {("unreadable_record", "health/corrupt"),
                                              ("engine_not_running", "health/mark-rs"),
                                              ("not_in_table", "health/web-rs9")}

    # the text form
    assert status.run([]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = {line.split()[1]: line.split() for line in lines if line.startswith("  -> ")}
    assert row["10.0.1.1:80"][:5] == ["->", "10.0.1.1:80", "masq", "3", "1"]
    assert "up" in row["10.0.1.1:80"] and "web-rs1" in row["10.0.1.1:80"]
    assert row["10.0.1.2:80"][:4] == ["->", "10.0.1.2:80", "masq", "0/4"]
    assert "DOWN" in row["10.0.1.2:80"] and "web-rs2" in row["10.0.1.2:80"]
    assert row["[2001:db8::10]:53"][2:4] == ["gate", "2"]
    assert row["10.0.2.1:0"][2:4] == ["ipip", "5"] and "stale)" in row["10.0.2.1:0"]
    assert "NOT" in row["10.0.1.9:80"]
    assert any("'corrupt': not valid JSON" in line for line in lines)
    assert lines[0].startswith("lvsocf status on ") and "IPVS 1.2.1" in lines[0]


def test_daemons_sysctls_timeouts_match_ipvsadm(k, state_dir, capsys):
    # an empty table first: it says so and exits 0
    assert status.run([]) == 0
    out = capsys.readouterr().out
    assert "No virtual services." in out and "Sync daemons: none running" in out

    run(["ip", "link", "add", "sync0", "type", "dummy"])
    run(["ip", "addr", "add", "192.0.2.1/24", "dev", "sync0"])
    run(["ip", "link", "set", "sync0", "up", "multicast", "on"])
    k.start_daemon(SyncDaemon("master", "sync0", syncid=5, maxlen=1400,
                              mcast_group="239.1.1.1", mcast_port=9000, mcast_ttl=2))
    k.start_daemon(SyncDaemon("backup", "sync0", syncid=5))
    k.set_timeouts(Timeouts(100, 20, 30))
    sysctl.ensure({"sync_threshold": "0 0", "sync_refresh_period": 10, "sync_retries": 2,
                   "sloppy_tcp": 1})
    state.write("sync", "ipvs-sync", {"backup_since": time.time() - 90})

    doc = json_status(capsys)
    daemons = {d["state"]: d for d in doc["daemons"]}
    assert set(daemons) == {"master", "backup"}
    m, b = daemons["master"], daemons["backup"]
    listed = ipvsadm("-Ln", "--daemon")
    assert (f"master sync daemon (mcast={m['interface']}, syncid={m['syncid']}, "
            f"maxlen={m['maxlen']}, group={m['mcast_group']}, port={m['mcast_port']}, "
            f"ttl={m['mcast_ttl']})") in listed
    assert (m["interface"], m["syncid"], m["maxlen"], m["mcast_group"], m["mcast_port"],
            m["mcast_ttl"]) == ("sync0", 5, 1400, "239.1.1.1", 9000, 2)
    assert (f"backup sync daemon (mcast={b['interface']}, syncid={b['syncid']}, "
            f"maxlen={b['maxlen']}, group={b['mcast_group']}, port={b['mcast_port']}, "
            f"ttl={b['mcast_ttl']})") in listed
    timeouts = ipvsadm("-Ln", "--timeout").split(":")[1].split()
    assert [str(doc["timeouts"][n]) for n in ("tcp", "tcp_fin", "udp")] == timeouts \
        == ["100", "20", "30"]
    for name, value in doc["sysctls"].items():
        kernel = run(["sysctl", "-n", f"net.ipv4.vs.{name}"]).stdout.split()
        assert kernel == [str(v) for v in (value if isinstance(value, list) else [value])], name
    assert doc["sysctls"]["sync_threshold"] == [0, 0] and doc["sysctls"]["sloppy_tcp"] == 1
    assert doc["issues"] == [] and doc["sync_records"]["ipvs-sync"]["backup_since"] > 0

    capsys.readouterr()
    assert status.run([]) == 0
    lines = capsys.readouterr().out.splitlines()
    master = next(line for line in lines if line.startswith("master "))
    backup = next(line for line in lines if line.startswith("backup "))
    assert master.split() == ["master", "sync0", "5", "239.1.1.1", "9000", "2", "1400"]
    assert backup.split()[:3] == ["backup", "sync0", "5"] and backup.split()[-1].startswith("1m")
    sysctls = next(line for line in lines if line.startswith("Sysctls: "))
    for word in ("sync_threshold=0 0", "sync_refresh_period=10", "sync_retries=2",
                 "backup_only=0", "sloppy_tcp=1"):
        assert word in sysctls
    assert "Timeouts: tcp 100s  tcpfin 20s  udp 30s" in lines
