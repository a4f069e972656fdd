"""Two directors with IPVSSync: client connections survive failover and failback, idle
long-lived ones included, and directors that are also DR real servers do not loop.

"Fail over" is done by hand here (lab.directors): the first director is cut off the
network, the second is promoted and gets the service, then the VIP. The cluster tests do the
same with Pacemaker.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterable

from lab.directors import VIP, ClientPool, Directors, Host

SYNC = {"interface": "sync0", "syncid": 7}
N, KEEPALIVE, TIMEOUT = 20, 10, 30      # connections, keepalive interval, tcp timeout (s)


class Agents:
    """IPVSSync on both directors of a lab, each with its own state directory (a node's
    /run) and a crm_attribute stand-in that logs the promotion scores it is given."""

    def __init__(self, lab: Directors, tmp_path, **params) -> None:
        self.lab, self.tmp, self.params = lab, tmp_path, {**SYNC, **params}
        self.boots: dict[str, int] = {}
        bindir = tmp_path / "bin"
        bindir.mkdir(exist_ok=True)
        tool = bindir / "crm_attribute"
        tool.write_text('#!/bin/sh\necho "$*" >> "$LOG"\n')
        tool.chmod(0o755)
        self.path = f"{bindir}:/usr/sbin:/usr/bin:/sbin:/bin"

    def env(self, d: Host) -> dict[str, str]:
        boot = self.boots.get(d.ns, 0)
        return self.lab.agent_env(str(self.tmp / f"{d.ns}-{boot}"), self.params, {
            "PATH": self.path, "LOG": str(self.tmp / f"{d.ns}.scores"),
            "OCF_RESKEY_CRM_meta_promoted_max": "1", "OCF_RESKEY_CRM_meta_clone_max": "2"})

    def reboot(self, d: Host) -> None:
        """A new boot: the node's /run (the state records) is empty again."""
        self.boots[d.ns] = self.boots.get(d.ns, 0) + 1

    def run(self, *steps: tuple[Host, str], expect: int = 0) -> None:
        """Run the actions in parallel (one per director) and check their exit codes."""
        procs = [(d, action, self.lab.agent(d.ns, "IPVSSync", action, self.env(d)))
                 for d, action in steps]
        for d, action, proc in procs:
            out, err = proc.communicate(timeout=300)
            assert "Traceback" not in err, err
            assert proc.returncode == expect, f"{action} on {d.ns}: {proc.returncode} {err}"

    def record(self, d: Host) -> dict:
        boot = self.boots.get(d.ns, 0)
        return json.loads((self.tmp / f"{d.ns}-{boot}" / "sync" / "sync.json").read_text())

    def score(self, d: Host) -> str:
        lines = (self.tmp / f"{d.ns}.scores").read_text().splitlines()
        return lines[-1].split()[-1] if lines else ""


def established(lab: Directors, ns: str, ports: Iterable[int]) -> set[int]:
    """Which of the client ports have an ESTABLISHED entry in ns's connection table."""
    return {c.client_port for c in lab.connections(ns)
            if c.state == "ESTABLISHED" and c.virtual == VIP} & set(ports)


def wait_for(what, timeout: float, step: float = 1.0):
    deadline = time.monotonic() + timeout
    while not (value := what()) and time.monotonic() < deadline:
        time.sleep(step)
    return value


def check_backup_has(lab: Directors, pool: ClientPool) -> None:
    """The backup's table lists every connection (/proc, cross-checked with ipvsadm)."""
    ports = pool.local_ports
    assert wait_for(lambda: established(lab, lab.d2.ns, ports) == set(ports), 20), \
        f"backup has {len(established(lab, lab.d2.ns, ports))}/{len(ports)} connections"
    listed = lab.ipvsadm(lab.d2.ns, "-Lnc")
    assert all(f"{lab.client.lan}:{port} " in listed for port in ports), listed


def test_idle_connections_survive_failover_and_failback(ocf_agents, tmp_path):
    """N connections carry data, then only a TCP keepalive every KEEPALIVE s, with a TIMEOUT s
    established timeout. Baseline (kernel defaults, sync daemons as keepalived/ldirectord
    setups run them) and lvsocf side by side, in two labs at once."""
    with Directors("nat", prefix="b") as base, Directors("nat", prefix="l") as lab:
        agents = Agents(lab, tmp_path, timeout_tcp=TIMEOUT, warmup=25)
        agents.run((lab.d1, "start"), (lab.d2, "start"))
        agents.run((lab.d1, "promote"))
        for d in base.directors:
            base.ipvsadm(d.ns, "--set", str(TIMEOUT), "0", "0")
        for d, role in ((base.d1, "master"), (base.d2, "backup")):
            base.ipvsadm(d.ns, "--start-daemon", role, "--mcast-interface", "sync0",
                         "--syncid", "7")
        for x in (base, lab):
            x.take_over(x.d1)
            x.wait_serving()
        pools = {"defaults": ClientPool(base.client.ns, VIP, 80, N, keepalive=KEEPALIVE),
                 "lvsocf": ClientPool(lab.client.ns, VIP, 80, N, keepalive=KEEPALIVE)}
        for pool in pools.values():
            assert pool.talk("hello") == [True] * N
        check_backup_has(base, pools["defaults"])
        check_backup_has(lab, pools["lvsocf"])

        time.sleep(TIMEOUT + 8)     # idle: keepalives only, longer than the timeout
        on_backup = {name: len(established(x, x.d2.ns, pools[name].local_ports))
                     for name, x in (("defaults", base), ("lvsocf", lab))}
        for x in (base, lab):
            x.crash(x.d1)
        base.ipvsadm(base.d2.ns, "--start-daemon", "master", "--mcast-interface", "sync0",
                     "--syncid", "7")
        agents.run((lab.d2, "promote"))
        for x in (base, lab):
            x.take_over(x.d2)
        kept = {name: sum(pool.talk("after-failover")) for name, pool in pools.items()}
        print(f"\nbackup table before failover: defaults {on_backup['defaults']}/{N}, "
              f"lvsocf {on_backup['lvsocf']}/{N}")
        print(f"idle connections kept: defaults {kept['defaults']}/{N}, "
              f"lvsocf {kept['lvsocf']}/{N}")
        assert kept["lvsocf"] == N
        pools.pop("defaults").close()
        base.close()

        # Failback: the first director comes back with an empty table, warms up as backup
        # and takes the role back. Agent actions are 10-40x slower under TCG than on a host,
        # so demote + promote can outlast a 30 s timeout: the failback runs with 90 s,
        # set live with reload-agent (a backup copy carries the timeout it was synced with).
        lab.reboot(lab.d1)
        agents.reboot(lab.d1)
        agents.params["timeout_tcp"] = 90
        agents.run((lab.d1, "start"), (lab.d2, "reload-agent"))
        assert agents.score(lab.d1) == "1", "back with an empty table: lowest score"
        ports = pools["lvsocf"].local_ports
        assert wait_for(lambda: established(lab, lab.d1.ns, ports) == set(ports), 45), \
            f"returning director has {len(established(lab, lab.d1.ns, ports))}/{N}"
        warm_at = agents.record(lab.d1)["backup_since"] + agents.record(lab.d1)["warmup"]
        time.sleep(max(0.0, warm_at + 1 - time.time()))
        agents.run((lab.d1, "monitor"))
        agents.run((lab.d2, "monitor"), expect=8)
        assert (agents.score(lab.d1), agents.score(lab.d2)) == ("100", "101")
        lab.release(lab.d2)                                  # as Pacemaker orders it
        agents.run((lab.d2, "demote"))
        agents.run((lab.d1, "promote"))
        lab.take_over(lab.d1)
        back = sum(pools["lvsocf"].talk("after-failback"))
        print(f"idle connections kept at failback: lvsocf {back}/{N}")
        assert back == N
        pools["lvsocf"].close()


def test_failover_dr(ocf_agents, tmp_path):
    with Directors("dr", prefix="r") as lab:
        agents = Agents(lab, tmp_path)
        agents.run((lab.d1, "start"), (lab.d2, "start"))
        agents.run((lab.d1, "promote"))
        lab.take_over(lab.d1)
        lab.wait_serving()
        with ClientPool(lab.client.ns, VIP, 80, 4) as pool:
            assert pool.talk("before") == [True] * 4
            check_backup_has(lab, pool)
            reals = {c.real for c in lab.connections(lab.d2.ns)}
            assert reals == {lab.rs1.lan, lab.rs2.lan}
            lab.crash(lab.d1)
            agents.run((lab.d2, "promote"))
            lab.take_over(lab.d2)
            assert pool.talk("after") == [True] * 4


def forwarded(lab: Directors, ns: str, rs: Host) -> int:
    """Packets ns's IPVS has sent to real server rs (ipvsadm --stats, exact)."""
    for line in lab.ipvsadm(ns, "-Ln", "--stats", "--exact").splitlines():
        words = line.split()
        if words[:2] == ["->", f"{rs.lan}:{lab.port}"]:
            return int(words[3])
    return 0


def test_directors_as_real_servers_do_not_loop(ocf_agents, tmp_path):
    """Both directors are the DR real servers and both hold the service (the keepalived
    layout, the hard case). The active one sends every other connection to the backup; with
    backup_only (the agent's default on an unpromoted node) the backup answers it itself
    instead of balancing it back to the active one, which would send it back again."""
    with Directors("dr", prefix="o", directors_serve=True) as lab:
        agents = Agents(lab, tmp_path)
        agents.run((lab.d1, "start"), (lab.d2, "start"))
        agents.run((lab.d1, "promote"))
        lab.add_service(lab.d2)
        lab.take_over(lab.d1)
        lab.wait_serving()

        def quiet_after(pool: ClientPool) -> int:
            pool.disconnect()
            time.sleep(1)
            before = sum(lab.link_packets(d.ns) for d in lab.directors)
            time.sleep(3)
            return sum(lab.link_packets(d.ns) for d in lab.directors) - before

        with ClientPool(lab.client.ns, VIP, 80, 6, connect_timeout=10) as pool:
            assert pool.talk("x", timeout=10) == [True] * 6
            both = {lab.d1.lan, lab.d2.lan}
            assert wait_for(lambda: {c.real for c in lab.connections(lab.d2.ns)} >= both, 10), \
                "the backup holds the synced connections to both real servers"
            flat = quiet_after(pool)
        bounced = forwarded(lab, lab.d2.ns, lab.d1)
        print(f"\ndirectors as real servers, lvsocf (backup_only on the backup): 6/6 "
              f"connections, {bounced} packets sent back by the backup, {flat} packets in 3 s "
              "after the client stopped")
        assert bounced == 0 and flat < 30

        # The kernel default on the backup: it balances what the active director sends it.
        lab.exec(lab.d2.ns, ["sysctl", "-qw", "net.ipv4.vs.backup_only=0"])
        with ClientPool(lab.client.ns, VIP, 80, 6, connect_timeout=3) as pool:
            answered = sum(pool.talk("y", timeout=3))
            after = quiet_after(pool)
        bounced = forwarded(lab, lab.d2.ns, lab.d1)
        print(f"kernel default (backup_only=0): {answered}/6 connections, {bounced} packets "
              f"sent back by the backup (a loop), {after} packets in 3 s after the client "
              "stopped")
        assert bounced > 0 and answered < 6
