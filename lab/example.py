"""The lab's cluster configuration: crm example 2 as shipped, adapted to the lab's addresses
and timing (adapt), optionally with more real servers (more_real_servers), loaded into a seed
CIB with crmsh (build_cib), and what its hot-standby layout places where (layout_of).
"""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = "crm-examples/2-dr-sync/dr-sync.crm"
VIP, PORT = "198.18.0.10", 443
REAL_SERVERS = ("198.18.0.11", "198.18.0.12")
CLIENT = "198.18.0.100"
LAN_IF, HA_IF = "eth0", "eth1"          # the example's interface names
# the example's documentation addresses -> the lab's (benchmarking range, namespaces only)
ADDRESSES = {"192.0.2.20": VIP, "192.0.2.21": REAL_SERVERS[0], "192.0.2.22": REAL_SERVERS[1]}
SITE_NAME = "www.example.com"           # the example's check virtualhost


def use_agents(installed: bool) -> None:
    """installed: the agents a package put in /usr/lib/ocf/resource.d/lvsocf (see
    lab.product); otherwise this checkout's agents are installed there first."""
    from lab import install, product
    if not installed:
        install.install_agents()
    elif not all((product.PROVIDER_DIR / name).is_file() for name in install.agent_names()):
        raise RuntimeError(f"no installed agents in {product.PROVIDER_DIR}")


def build_cib(crm_config: str, workdir: Path, properties: dict[str, str], *,
              installed: bool = False) -> str:
    """A seed CIB: the crm configuration loaded with crmsh into an empty CIB. Run it on the
    host (crmsh is Python: ~10x slower inside the TCG guest). crmsh reads each agent's
    meta-data."""
    use_agents(installed)
    seed = workdir / "seed.xml"
    with seed.open("w") as fh:
        subprocess.run(["cibadmin", "--empty"], stdout=fh, check=True)
    env = {"CIB_file": str(seed), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(workdir)}
    for name, value in properties.items():
        subprocess.run(["crm_attribute", "--type", "crm_config", "-n", name, "-v", value],
                       env=env, check=True, capture_output=True)
    config = workdir / "config.crm"
    config.write_text(crm_config)
    done = subprocess.run(["crm", "configure", "load", "update", str(config)], env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"crm configure load failed: {done.stderr[-2000:]}")
    return seed.read_text()


def params_of(cib: str, resource: str) -> dict[str, str]:
    """A primitive's instance attributes (its OCF parameters)."""
    from lxml import etree
    root = etree.fromstring(cib.encode())
    return {nv.get("name"): nv.get("value") for nv in root.iterfind(
        f".//primitive[@id='{resource}']/instance_attributes/nvpair")}


def _rip_of(cib: str, resource: str) -> str | None:
    return params_of(cib, resource).get("rip")


@dataclass(frozen=True)
class Layout:
    """What the hot-standby layout places where: the table (services and real servers,
    cloned onto every director) and what moves at failover (the VIP, the Promoted sync)."""
    vip: str
    sync: str                       # the IPVSSync primitive ("sync:Promoted" is the master)
    table: tuple[str, ...]          # IPVSService and IPVSRealServer primitives

    @property
    def moving(self) -> tuple[str, ...]:
        return (f"{self.sync}:Promoted", self.vip)


def layout_of(cib: str) -> Layout:
    from lxml import etree
    root = etree.fromstring(cib.encode())
    kinds: dict[str, list[str]] = {}
    for prim in root.iter("primitive"):
        kinds.setdefault(prim.get("type"), []).append(prim.get("id"))
    cloned = {p.get("id") for c in root.iter("clone") for p in c.iterchildren("primitive")}
    table = tuple(kinds.get("IPVSService", []) + kinds.get("IPVSRealServer", []))
    if not set(table) <= cloned or not kinds.get("IPaddr2") or not kinds.get("IPVSSync"):
        raise ValueError("not the hot-standby layout: services and real servers cloned, "
                         "an IPaddr2 VIP and an IPVSSync clone")
    return Layout(kinds["IPaddr2"][0], kinds["IPVSSync"][0], table)


def more_real_servers(config: str, count: int, monitor: str | None = None) -> str:
    """The (adapted) example with `count` real servers: copies of the statements of its last
    real server (primitive, clone, colocation, order), each with the next lab address;
    `monitor`: every real server's monitor interval, and 60 s timeouts for its monitors and
    probes (a TCG guest runs many agents at once when a director joins)."""
    statements, lines = [], []
    for line in config.splitlines():
        lines.append(line)
        if not line.endswith("\\"):
            statements.append("\n".join(lines))
            lines = []
    if monitor:
        ops = f"op monitor interval={monitor} timeout=60s op monitor interval=0 timeout=60s"
        statements = [re.sub(r"op monitor interval=\S+ timeout=\S+", ops, st)
                      if "ocf:lvsocf:IPVSRealServer" in st else st for st in statements]
    last = REAL_SERVERS[-1]
    ident = next(re.match(r"primitive (\S+)", st)[1] for st in statements
                 if st.startswith("primitive ") and f"rip={last} " in st)
    word = re.compile(rf"(?<!\w){re.escape(ident)}(?!\w)")
    template = [st for st in statements if not st.startswith("#") and word.search(st)]
    copies = [word.sub(f"{ident}-{a.rsplit('.', 1)[1]}", st).replace(f"rip={last} ", f"rip={a} ")
              for a in extra_addresses(count) for st in template]
    return "\n".join([*statements, *copies]) + "\n"


def extra_addresses(count: int) -> tuple[str, ...]:
    """Real-server addresses beyond the example's two: 198.18.0.13 on, past the client's."""
    wanted = max(0, count - len(REAL_SERVERS))
    free = [a for a in (f"198.18.0.{host}" for host in range(13, 255)) if a != CLIENT]
    found = tuple(free[:wanted])
    if len(found) < wanted:
        raise ValueError(f"the lab's /24 has room for {len(found) + 2} real servers, "
                         f"not {count}")
    return found


# The director the lab prefers for the VIP (and so the Promoted role) once its backup daemon
# is warm: the README's failback rule (crm-examples/README.md), so that failback needs no
# command.
PREFERRED = "node1"
LAB_WARMUP = 30     # IPVSSync warmup (s): the lab's idle connections speak every 10 s
SYNC_PARAMS = "params interface=eth1 syncid=20"


# Agent action timeouts in the lab: a 2-vCPU TCG guest runs an agent 10-40x slower than
# hardware, and at cluster start every probe runs at once (the shipped 20-30 s timed out).
LAB_TIMEOUTS = {"timeout=20s": "timeout=90s", "timeout=30s": "timeout=90s",
                "timeout=60s": "timeout=120s"}


def adapt(example: str) -> str:
    """The shipped example with the lab's addresses (the lab uses the example's interface
    names). Other changes: the lab has no fence device, so the FENCING block's
    stonith-enabled=true becomes false (a site puts its fence devices there instead); the
    sync daemon's warm-up is LAB_WARMUP instead of the TCP established timeout; operation
    timeouts are LAB_TIMEOUTS (and 90 s for those the example leaves to the default); and
    the README's failback rule for PREFERRED is added."""
    for old, new in {**ADDRESSES, **LAB_TIMEOUTS}.items():
        example = example.replace(old, new)
    if SYNC_PARAMS not in example:
        raise ValueError(f"the example no longer has {SYNC_PARAMS!r}: update lab.failover")
    example = example.replace(SYNC_PARAMS, f"{SYNC_PARAMS} warmup={LAB_WARMUP}")
    rule = (f"location www-vip-failback-{PREFERRED} www-vip rule inf: "
            f"#uname eq {PREFERRED} and master-sync number:gte 100\n")
    return example.replace("property stonith-enabled=true",
                           "property stonith-enabled=false") + rule + "op_defaults timeout=90s\n"


PROPERTIES = {
    "stonith-enabled": "false",      # the lab has no fence device; a site must have one
    "dc-deadtime": "2s",
    "node-action-limit": "8",
    "load-threshold": "800%",        # a TCG guest's load average is always high
}

