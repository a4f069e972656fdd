import subprocess
from pathlib import Path

import pytest

from lab.netns import Topology, run, unshare_net


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


@pytest.fixture
def nat_topology():
    """Director = this test's namespace; a client and a NAT real server hang off it."""
    with Topology("ct") as topo:
        cl, rs = topo.host("cl"), topo.host("rs")
        topo.link(cl, "eth0", None, "dcl")
        topo.link(rs, "eth0", None, "drs")
        topo.address(None, "dcl", "10.0.0.1/24")
        topo.address(None, "drs", "10.0.1.254/24")
        topo.address(cl, "eth0", "10.0.0.2/24")
        topo.address(rs, "eth0", "10.0.1.1/24")
        topo.route(rs, "default", "via", "10.0.1.254")
        run(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        yield topo, cl, rs


SERVER = """
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(64)
def echo(c):
    while data := c.recv(4096):
        c.sendall(data)
while True:
    c, _ = s.accept()
    threading.Thread(target=echo, args=(c,), daemon=True).start()
"""


def start_echo_server(topo, ns: str, address: str, port: int) -> None:
    """A TCP echo server in ns; returns once it listens."""
    import sys
    import time
    topo.spawn(ns, [sys.executable, "-c", SERVER, address, str(port)])
    deadline = time.monotonic() + 60
    while f"{address}:{port}" not in topo.exec(ns, ["ss", "-ltn"]).stdout:
        assert time.monotonic() < deadline, "echo server did not start"
        time.sleep(0.2)


def checkout_env() -> dict[str, str]:
    """PYTHONPATH when the tests run with one (a worktree's checkout over the venv's editable
    install): the agents then run this checkout's lvsocf, not the install's."""
    import os
    return {"PYTHONPATH": os.environ["PYTHONPATH"]} if os.environ.get("PYTHONPATH") else {}


class Agent:
    """Runs an installed agent the way Pacemaker does: OCF environment, one action."""

    def __init__(self, name: str, state_dir: str) -> None:
        self.path = f"/usr/lib/ocf/resource.d/lvsocf/{name}"
        self.state_dir = state_dir

    def __call__(self, action: str, instance: str = "rsc", env: dict | None = None,
                 **params) -> subprocess.CompletedProcess:
        environ = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "OCF_ROOT": "/usr/lib/ocf",
                   "OCF_RESOURCE_INSTANCE": instance, "LVSOCF_STATE_DIR": self.state_dir,
                   "OCF_RESKEY_CRM_meta_timeout": "60000", **checkout_env()}
        environ.update({f"OCF_RESKEY_{k}": str(v) for k, v in params.items()})
        environ.update(env or {})
        return subprocess.run([self.path, action], env=environ, capture_output=True, text=True,
                              timeout=120)


def bash_only(agent: Agent, directory: Path) -> Agent:
    """`agent` installed in `directory` with /bin/false as its Python: 0 from it is the
    bash monitor fast path's answer (lvsocf/agents/fastpath.bash); 1 is a hand-over to
    Python."""
    from lab.install import install_agents
    name, folder = Path(agent.path).name, directory / "bash-only"
    install_agents(folder, python="/bin/false")
    copy = Agent(name, agent.state_dir)
    copy.path = str(folder / name)
    return copy


@pytest.fixture
def agent_factory(ocf_agents, tmp_path):
    return lambda name: Agent(name, str(tmp_path / "state"))


CLIENT = """
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)
print(c.getsockname()[1], flush=True)
for line in sys.stdin:
    c.sendall(line.encode())
    print(c.recv(4096).decode().strip(), flush=True)
"""


class LongLivedClient:
    """One TCP connection held open in a client namespace; talk() round-trips a line on it."""

    def __init__(self, topo, ns: str, address: str, port: int) -> None:
        import sys
        self.proc = topo.spawn(ns, [sys.executable, "-c", CLIENT, address, str(port)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.local_port = int(self.proc.stdout.readline())

    def talk(self, line: str) -> str:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()
