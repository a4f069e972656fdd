"""Offline CIB tooling for the crm-examples tests: the shipped crmsh and pcs scripts loaded,
as they are, into CIB files (CIB_file / pcs -f), never a live cluster.

Every test CIB gets quorum and a dummy fence device (stonith:fence_dummy) before loading,
because the examples keep stonith-enabled=true and crmsh refuses to commit that without
one: that is the state of a real cluster whose fencing was set up first. The pcs scripts
run under `sh` with a `pcs` shim first in PATH: `pcs cluster cib FILE` copies the test CIB,
`pcs cluster cib-push` copies the result back, and every `pcs -f` command (and `pcs
--version`, by which a script picks a version's spelling) runs the real pcs.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "crm-examples"
INTERFACES = REPO / "docs" / "interfaces.md"
LVSOCF_AGENTS = ("IPVSService", "IPVSRealServer", "IPVSSync")
FENCE_TEST = '<primitive id="fence-test" class="stonith" type="fence_dummy"/>'
TOOLS = ("cibadmin", "crm", "pcs", "crm_verify", "crm_simulate", "crm_attribute",
         "crm_resource")

# The fixed lines around the `pcs -f "$cib" ...` commands of every pcs script.
PCS_PROLOGUE = (
    "set -eu",
    'cib=$(mktemp "${TMPDIR:-/tmp}/lvsocf-cib.XXXXXX")',
    "trap 'rm -f \"$cib\"' EXIT",
    'pcs cluster cib "$cib"',
)
PCS_EPILOGUE = ('pcs cluster cib-push "$cib" --config',)

FENCE_BEGIN = "FENCING (required)"
FENCE_END = "END FENCING"


@dataclass(frozen=True)
class Scenario:
    name: str          # directory name, e.g. "2-dr-sync"
    directory: Path
    crm: Path
    pcs: Path

    @property
    def readme(self) -> Path:
        return self.directory / "README.md"


def scenarios() -> list[Scenario]:
    """Every crm-examples/*/ directory with one *.crm and one *.pcs.sh file."""
    found = []
    for d in sorted(p for p in EXAMPLES.iterdir() if p.is_dir()):
        crm, pcs = sorted(d.glob("*.crm")), sorted(d.glob("*.pcs.sh"))
        assert len(crm) == 1 and len(pcs) == 1, f"{d}: expected one .crm and one .pcs.sh"
        found.append(Scenario(d.name, d, crm[0], pcs[0]))
    return found


SCENARIOS = scenarios()
SCENARIO_IDS = [s.name for s in SCENARIOS]
# scenario 2 (the sync daemon) is also loaded into a three-node CIB
THREE_NODES = "2-dr-sync"
# every CIB the tests build: (scenario, tool, nodes)
BUILT_KEYS = [(s.name, tool, 2) for s in SCENARIOS for tool in ("crm", "pcs")]
BUILT_KEYS.append((THREE_NODES, "crm", 3))
BUILT_IDS = ["-".join(map(str, k)) for k in BUILT_KEYS]


def run(argv: list[str], env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)
    assert proc.returncode == 0, (f"{shlex.join(argv)} -> {proc.returncode}\n"
                                  f"{proc.stdout}\n{proc.stderr}")
    return proc


def cib_env(cib: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["CIB_file"] = str(cib)
    return env


# --------------------------------------------------------------------------- pcs scripts

def pcs_commands(text: str) -> list[str]:
    """The script's commands, one string per command: comments and blank lines dropped,
    backslash continuation lines joined."""
    commands, cur = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not cur and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            cur += line[:-1].strip() + " "
            continue
        commands.append(cur + line)
        cur = ""
    assert not cur, "script ends in a continuation line"
    return commands


def pcs_argvs(text: str) -> list[list[str]]:
    """The `pcs -f "$cib" ...` commands as argv lists (shlex, as sh splits them), after
    checking that the script is exactly: prologue, pcs -f commands, epilogue. A `case
    $(pcs --version) ... set -- WORDS` line (a pcs version's spelling) runs in sh with this
    machine's pcs; its positional parameters replace the next command's final "$@"."""
    commands = pcs_commands(text)
    n = len(PCS_PROLOGUE)
    assert tuple(commands[:n]) == PCS_PROLOGUE
    assert tuple(commands[-len(PCS_EPILOGUE):]) == PCS_EPILOGUE
    argvs, params = [], None
    for command in commands[n:-len(PCS_EPILOGUE)]:
        if command.startswith("case $(pcs --version) in "):
            out = run(["sh", "-c", command + '; printf "%s\\0" "$@"']).stdout
            params = out.split("\0")[:-1]
            continue
        argv = shlex.split(command)
        assert argv[:3] == ["pcs", "-f", "$cib"], command
        if params is not None:
            assert argv[-1] == "$@", command
            argv, params = argv[:-1] + params, None
        assert not any("$" in word for word in argv[3:]), command
        argvs.append(argv)
    return argvs


_SHIM = """#!{python}
import json, os, shutil, sys
args = sys.argv[1:]
with open(os.environ["LVSOCF_PCS_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if args[:2] == ["cluster", "cib"]:
    shutil.copyfile(os.environ["LVSOCF_PCS_IN"], args[2])
    sys.exit(0)
if args[:2] == ["cluster", "cib-push"]:
    if args[3:] != ["--config"]:
        sys.exit("unexpected cib-push arguments: %r" % args)
    shutil.copyfile(args[2], os.environ["LVSOCF_PCS_OUT"])
    sys.exit(0)
if args[:1] != ["-f"] and args != ["--version"]:
    sys.exit("the example ran a pcs command that is not pcs -f: %r" % args)
# pcs checks parameters against the agent's meta-data: force only agents not installed yet
if args[2:4] == ["resource", "create"] and args[5] in os.environ["LVSOCF_PCS_FORCE"].split():
    args.append("--force")
os.execv({pcs!r}, ["pcs", *args])
"""


# --------------------------------------------------------------------------- offline CIBs

def agent_metadata(agent: str) -> str | None:
    """The meta-data XML of an installed agent ("ocf:lvsocf:IPVSSync"), else None."""
    proc = subprocess.run(["crm_resource", "--show-metadata", agent], capture_output=True,
                          text=True, timeout=60, check=False)
    if proc.returncode == 0 and "<resource-agent" in proc.stdout:
        return proc.stdout
    return None


class OfflineCib:
    """Builds CIB files in a directory: nodes, the dummy fence device, the examples."""

    def __init__(self, directory: Path, missing_agents: frozenset[str]) -> None:
        self.dir = directory
        self.missing = missing_agents          # e.g. {"ocf:lvsocf:IPVSSync"}
        self.real_pcs = shutil.which("pcs")
        self.shim_dir = directory / "shim"
        self.shim_dir.mkdir(exist_ok=True)
        shim = self.shim_dir / "pcs"
        shim.write_text(_SHIM.format(python=sys.executable, pcs=self.real_pcs))
        shim.chmod(0o755)

    def new(self, name: str, nodes: int = 2, fence_test: bool = True) -> Path:
        """An empty CIB with quorum, NODES nodes (node1..N) and, unless told otherwise, the
        dummy fence device."""
        cib = self.dir / f"{name}.xml"
        cib.write_text(run(["cibadmin", "--empty"]).stdout)
        env = cib_env(cib)
        run(["cibadmin", "--modify", "--xml-text", '<cib have-quorum="1"/>'], env)
        for i in range(1, nodes + 1):
            run(["cibadmin", "-o", "nodes", "-C", "-X", f'<node id="{i}" uname="node{i}"/>'],
                env)
        if fence_test:
            run(["cibadmin", "-o", "resources", "-C", "-X", FENCE_TEST], env)
        return cib

    def forced(self, script: Path) -> bool:
        """Whether SCRIPT uses an agent that is not installed (then -F / --force)."""
        text = script.read_text()
        return any(agent in text for agent in self.missing)

    def crm_load(self, cib: Path, script: Path) -> str:
        """`crm configure load update SCRIPT`, -F only when the script uses an agent that
        is not installed. Returns what crm printed on stderr."""
        force = ["-F"] if self.forced(script) else []
        return run(["crm", *force, "configure", "load", "update", str(script)],
                   cib_env(cib)).stderr

    def pcs_run(self, cib: Path, script: Path) -> tuple[list[list[str]], str]:
        """Runs the pcs script with sh; the pushed CIB replaces CIB. Returns the pcs argvs
        the script ran (as the shim saw them) and what it printed on stderr."""
        log = cib.with_suffix(".pcs.log")
        out = cib.with_suffix(".pushed.xml")
        env = dict(os.environ)
        env.update({
            "PATH": f"{self.shim_dir}{os.pathsep}{env.get('PATH', '')}",
            "TMPDIR": str(self.dir),
            "LVSOCF_PCS_LOG": str(log),
            "LVSOCF_PCS_IN": str(cib),
            "LVSOCF_PCS_OUT": str(out),
            "LVSOCF_PCS_FORCE": " ".join(sorted(self.missing)),
        })
        stderr = run(["sh", str(script)], env, timeout=300).stderr
        shutil.copyfile(out, cib)
        return [json.loads(line) for line in log.read_text().splitlines()], stderr

    def online(self, cib: Path, name: str) -> Path:
        """A copy of CIB whose status section has every node online and quorum."""
        out = self.dir / f"{name}.xml"
        argv = ["crm_simulate", "-x", str(cib), "-q", "true", "-O", str(out)]
        for node in node_names(cib):
            argv += ["-u", node]
        run(argv)
        return out


def node_names(cib: Path) -> list[str]:
    from lxml import etree
    return [n.get("uname") for n in etree.parse(str(cib)).getroot().iter("node")
            if n.getparent().tag == "nodes"]


def uncomment_fencing(text: str) -> str:
    """The script with the commented-out command lines of its FENCING block enabled."""
    out, inside = [], False
    for line in text.splitlines():
        if FENCE_BEGIN in line:
            inside = True
        elif FENCE_END in line:
            inside = False
        elif inside and re.match(r"#[^ #!]", line):
            line = line[1:]
        out.append(line)
    return "\n".join(out) + "\n"


def fencing_block(text: str) -> str:
    lines = text.splitlines()
    begin = next(i for i, line in enumerate(lines) if FENCE_BEGIN in line)
    end = next(i for i, line in enumerate(lines) if FENCE_END in line)
    return "\n".join(lines[begin:end + 1])


