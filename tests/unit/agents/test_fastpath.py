"""The monitor fast path (lvsocf/agents/fastpath.bash + lvsocf.agents.fastpath), run as the
lab installs the agents, with Python replaced by /bin/false: exit 0 is the bash fast path's
"running", exit 1 is "handed over to Python". A ticket written by fastpath.write must be
honoured only while every input it names is as it was, read afresh each time. The kernel
test (tests/kernel/test_agent_realserver.py) runs the same with the real agents and IPVS."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab import install
from lvsocf import state
from lvsocf.agents import fastpath
from lvsocf.agents.realserver_params import PARAMETERS as RS_PARAMETERS
from lvsocf.agents.service import PARAMETERS as SVC_PARAMETERS

INSTANCE = "web-rs1"
HEADER = "TCP  0A000064:0050 wlc "
ENTRY = "0A000002:0050"
ROUTE = "      Route   1      0          0         "      # /proc pads its columns
PROC = "\n".join([
    "IP Virtual Server version 1.2.1 (size=4096)",
    "Prot LocalAddress:Port Scheduler Flags",
    "  -> RemoteAddress:Port Forward Weight ActiveConn InActConn",
    "TCP  0A000065:0050 rr ", f"  -> 0A000003:0050{ROUTE}",
    HEADER, f"  -> 0A000004:0050{ROUTE}", f"  -> {ENTRY}{ROUTE}",
    "UDP  0A000064:0035 rr ", ""])
DIGEST = "a1b2c3"
PARAMS = {"service": "tcp:10.0.0.100:80", "rip": "10.0.0.2", "check_type": "tcp"}


@pytest.fixture(scope="module")
def engine():
    """A process whose command line says lvsocf.engine (what the fast path looks for)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)",
                             "-m", "lvsocf.engine"])
    yield proc
    proc.kill()
    proc.wait()


class World:
    def __init__(self, root: Path, engine_pid: int, monkeypatch) -> None:
        self.root = root
        self.state = root / "state"
        monkeypatch.setenv("LVSOCF_STATE_DIR", str(self.state))
        self.proc = root / "ip_vs"
        self.proc.write_text(PROC)
        self.agents = root / "agents"
        install.install_agents(self.agents, python="/bin/false")
        self.pid = engine_pid
        (self.state).mkdir(mode=0o700)
        (self.state / "engine.pid").write_text(f"{engine_pid}\n1.0:123:456\n")  # as daemon.py
        self.status(time.time())
        self.health("up", DIGEST)
        state.write("realservers", INSTANCE, {"any": "record"})
        self.env = {"PATH": os.environ["PATH"], "LVSOCF_STATE_DIR": str(self.state),
                    "OCF_ROOT": "/usr/lib/ocf", "OCF_RESOURCE_INSTANCE": INSTANCE,
                    "OCF_RESKEY_CRM_meta_interval": "10000",
                    **{f"OCF_RESKEY_{k}": v for k, v in PARAMS.items()}}

    def status(self, at: float, pid: int | None = None, interval_max: float | None = 5.0,
               supervisor: bool = True) -> None:
        record = {"pid": self.pid if pid is None else pid, "at": at, "started": at - 100,
                  "interval_max": interval_max, "workers": [{"pid": 1, "shard": "1/2"}]}
        if supervisor:
            record["cycle_at"] = at
        state.write("engine", "status", record)

    def health(self, health_state: str, registration: str) -> None:
        state.write("health", INSTANCE, {
            "address": "10.0.0.2", "port": 80, "state": health_state,
            "registration": registration, "detail": 'the text "state": "up" in a detail',
            "service": {"protocol": "tcp", "address": "10.0.0.100", "port": 80}})

    def ticket(self, entry: str | None = ENTRY, parameters=RS_PARAMETERS,
               env: dict[str, str] | None = None) -> bool:
        seen = {"proc": str(self.proc), "header": HEADER}
        if entry is not None:
            seen |= {"entry": entry, "digest": DIGEST,
                     "record": str(state.path_of("realservers", INSTANCE)),
                     "health": str(state.path_of("health", INSTANCE)),
                     "pidfile": str(self.state / "engine.pid"),
                     "status": str(state.path_of("engine", "status")),
                     "intervals": "3", "floor": "30"}
        saved = dict(os.environ)
        os.environ.update(self.env if env is None else env)
        try:
            return fastpath.write(INSTANCE, (p.name for p in parameters), seen)
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def monitor(self, agent: str = "IPVSRealServer", *args: str, **env: str | None) -> int:
        environ = {**self.env, **env}
        environ = {k: v for k, v in environ.items() if v is not None}
        return subprocess.run([str(self.agents / agent), *(args or ("monitor",))],
                              env=environ, capture_output=True, timeout=30).returncode


@pytest.fixture
def world(tmp_path, engine, monkeypatch) -> World:
    w = World(tmp_path, engine.pid, monkeypatch)
    assert w.ticket()
    return w


def test_a_fresh_ticket_answers_running_without_python(world):
    assert world.monitor() == 0
    assert world.monitor() == 0     # read-only: the ticket stays


@pytest.mark.parametrize("env", [
    {"OCF_RESKEY_rip": "10.0.0.3"},                  # a parameter changed
    {"OCF_RESKEY_rip": None},                        # ... removed
    {"OCF_RESKEY_weight": "5"},                      # ... added
    {"OCF_RESKEY_rip": "10.0.0.2 "},                 # ... one space more
    {"OCF_RESKEY_CRM_meta_interval": "0"},           # a probe
    {"OCF_RESKEY_CRM_meta_interval": None},
    {"OCF_CHECK_LEVEL": "10"},                       # a deeper check
    {"OCF_RESOURCE_INSTANCE": "web-rs2"},            # another resource: no ticket
    {"OCF_RESOURCE_INSTANCE": "../state/web-rs1"},
    {"OCF_RESOURCE_INSTANCE": None},
])
def test_a_changed_environment_goes_to_python(world, env):
    assert world.monitor(**env) == 1


@pytest.mark.parametrize("args", [("start",), ("stop",), ("monitor", "x"), ("meta-data",),
                                  ("validate-all",)])
def test_other_actions_go_to_python(world, args):
    assert world.monitor("IPVSRealServer", *args) == 1


def test_the_real_server_line_is_read_afresh(world):
    world.proc.write_text(PROC.replace(f"  -> {ENTRY} ", "  -> 0A000009:0050 "))
    assert world.monitor() == 1
    # the entry under another service does not count
    world.proc.write_text(PROC.replace(HEADER, "TCP  0A000066:0050 wlc "))
    assert world.monitor() == 1
    moved = PROC.replace(f"  -> {ENTRY}{ROUTE}\n", "")
    world.proc.write_text(moved.replace("UDP  0A000064:0035 rr \n",
                                        f"UDP  0A000064:0035 rr \n  -> {ENTRY}      Route\n"))
    assert world.monitor() == 1
    world.proc.write_text(PROC.replace(HEADER, "TCP  0A000064:0050 rr "))   # scheduler
    assert world.monitor() == 1
    world.proc.unlink()                                                     # no IPVS
    assert world.monitor() == 1
    world.proc.write_text(PROC)
    assert world.monitor() == 0


@pytest.mark.parametrize("health_state", ["down", "soft_up", "soft_down", "unknown"])
def test_only_an_up_backend_is_answered_in_bash(world, health_state):
    world.health(health_state, DIGEST)
    assert world.monitor() == 1


def test_health_of_another_registration_or_none_goes_to_python(world):
    world.health("up", "0ther")
    assert world.monitor() == 1
    state.remove("health", INSTANCE)
    assert world.monitor() == 1


def test_no_record_goes_to_python(world):
    state.remove("realservers", INSTANCE)
    assert world.monitor() == 1


def test_the_engine_must_run_and_be_fresh(world, engine):
    now = time.time()
    world.status(now - 29)                                  # under the 30 s floor
    assert world.monitor() == 0
    world.status(now - 31)
    assert world.monitor() == 1
    world.status(now - 40, interval_max=20.0)               # 3 x 20 s
    assert world.monitor() == 0
    world.status(now - 61, interval_max=20.0)
    assert world.monitor() == 1
    world.status(now, supervisor=False)                     # a lone engine: its own "at"
    assert world.monitor() == 0
    world.status(now - 31, supervisor=False)
    assert world.monitor() == 1
    world.status(now, pid=engine.pid + 1)                   # another engine's record
    assert world.monitor() == 1
    world.status(now)
    (world.state / "engine.pid").write_text(f"{os.getpid()}\n")    # not an engine
    assert world.monitor() == 1
    (world.state / "engine.pid").write_text("4194305\n")            # no such process
    assert world.monitor() == 1
    (world.state / "engine.pid").unlink()
    assert world.monitor() == 1


def test_a_damaged_or_missing_ticket_goes_to_python(world):
    ticket = fastpath.path(INSTANCE)
    text = ticket.read_text()
    ticket.write_text(text.replace("\nend\n", "\n"))
    assert world.monitor() == 1
    ticket.write_text(text.replace("set rip", "set r$(id)"))
    assert world.monitor() == 1
    ticket.write_text(text.replace("lvsocf-monitor-ticket 1", "lvsocf-monitor-ticket 2"))
    assert world.monitor() == 1
    ticket.write_text(text + "more\n")
    assert world.monitor() == 1
    ticket.unlink()
    assert world.monitor() == 1
    ticket.write_text(text)
    assert world.monitor() == 0


def test_the_service_ticket(world):
    assert world.ticket(entry=None, parameters=SVC_PARAMETERS)
    assert world.monitor("IPVSService") == 0
    world.proc.write_text(PROC.replace(HEADER, "TCP  0A000064:0050 wlc persistent 300 0\n"))
    assert world.monitor("IPVSService") == 1
    world.proc.write_text(PROC)
    assert world.monitor("IPVSService", OCF_RESKEY_scheduler="rr") == 1
    # a real server's ticket is no service's
    assert world.ticket()
    assert world.monitor("IPVSService") == 1


def test_no_ticket_for_what_a_line_cannot_hold(world):
    assert not world.ticket(env={**world.env, "OCF_RESKEY_rip": "10.0.0.2\nx"})
    assert fastpath.path(INSTANCE) is not None and not fastpath.path(INSTANCE).exists()
    assert fastpath.path("../x") is None and fastpath.path(".hidden") is None
    assert fastpath.path("x" * 201) is None


def test_without_the_library_every_action_is_python(world):
    agent = world.agents / "IPVSRealServer"
    agent.write_text(agent.read_text().replace(f"lib={install.AGENTS_DIR.parent}", "lib="))
    assert world.monitor() == 1


def test_tickets_are_root_only(world):
    ticket = fastpath.path(INSTANCE)
    assert ticket.stat().st_mode & 0o777 == 0o600
    assert ticket.parent.stat().st_mode & 0o777 == 0o700


TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\0"),
               max_size=40)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.dictionaries(st.sampled_from([p.name for p in RS_PARAMETERS]), TEXT,
                              max_size=6),
       other=TEXT)
def test_hostile_parameter_values_round_trip(world, values, other):
    """Any parameter values (quotes, $(...), globs, backslashes, spaces, any script) are
    compared as they are: the same environment is answered in bash, any change is not."""
    env = {**world.env, **{f"OCF_RESKEY_{k}": v for k, v in values.items()}}
    assert world.ticket(env=env)
    world.env, saved = env, world.env
    try:
        assert world.monitor() == 0
        name = next(iter(values), "rip")
        if env.get(f"OCF_RESKEY_{name}") != other:
            assert world.monitor(**{f"OCF_RESKEY_{name}": other}) == 1
    finally:
        world.env = saved


def test_the_ticket_is_plain_lines(world):
    lines = fastpath.path(INSTANCE).read_text().splitlines()
    assert lines[0] == fastpath.MAGIC and lines[-1] == "end"
    declared = {line.split(" ")[1] for line in lines if line.split(" ")[0] in ("set", "unset")}
    assert declared == {p.name for p in RS_PARAMETERS}
    assert json.dumps(lines)    # nothing but text
