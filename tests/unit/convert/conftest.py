"""Fixtures for the `lvsocf convert` tests: sample configs, an offline CIB, crm and pcs loaders."""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from lvsocf.cli.convert import run
from lvsocf.cli.convert.pcs import EPILOGUE, PROLOGUE

REPO = Path(__file__).resolve().parents[3]
DATA = Path(__file__).resolve().parent / "data"
AGENT_NAMES = ("IPVSService", "IPVSRealServer", "IPVSSync")
LD_DOC = Path("/usr/share/doc/ldirectord/examples")
KA_DOC = Path("/usr/share/doc/keepalived")


def _agent_has_metadata(name: str) -> bool:
    if shutil.which("crm_resource") is None:
        return False
    proc = subprocess.run(["crm_resource", "--show-metadata", f"ocf:lvsocf:{name}"],
                          capture_output=True, text=True, timeout=30, check=False)
    return proc.returncode == 0 and "<resource-agent" in proc.stdout


@pytest.fixture(scope="session")
def installed_agents(ocf_agents) -> frozenset[str]:
    """The lvsocf agents that answer meta-data (e.g. {"IPVSService"}): crmsh and pcs check the
    generated parameters of those against their meta-data, and get -F / --force only for the
    others."""
    return frozenset(n for n in AGENT_NAMES if _agent_has_metadata(n))


@pytest.fixture
def samples(tmp_path: Path) -> dict[str, Path]:
    """Copies of the sample configurations shipped by Debian (gunzipped), by file name."""
    found: dict[str, Path] = {}
    sources = [*LD_DOC.glob("ldirectord.cf*"), *(KA_DOC / "samples").glob("keepalived.conf.*")]
    dest = tmp_path / "samples"
    dest.mkdir()
    if not sources:
        pytest.skip("ldirectord/keepalived documentation samples not installed")
    for src in sources:
        name = src.name[:-3] if src.name.endswith(".gz") else src.name
        target = dest / name
        if src.name.endswith(".gz"):
            target.write_bytes(gzip.decompress(src.read_bytes()))
        else:
            shutil.copyfile(src, target)
        found[name] = target
    return found


@pytest.fixture
def data(tmp_path: Path) -> dict[str, Path]:
    """Copies of the hand-written configurations in data/ (outputs go next to them)."""
    dest = tmp_path / "data"
    shutil.copytree(DATA, dest)
    return {p.name: p for p in dest.iterdir()}


def _cib_env(cib: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["CIB_file"] = str(cib)
    return env


def _check(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, (f"{shlex.join(argv)} -> {proc.returncode}\n"
                                  f"{proc.stdout}\n{proc.stderr}")
    return proc


def pcs_argvs(script_text: str) -> list[list[str]]:
    """The generated pcs script as argv lists (shlex, no shell): the `pcs -f "$cib"` lines;
    every other command line must be the fixed prologue/epilogue, or a `case ... set --`
    line that picks a pcs version's spelling: that one runs in sh, with this machine's pcs,
    and its positional parameters replace the next line's "$@"."""
    argvs, params = [], None
    for line in script_text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line in PROLOGUE or line in EPILOGUE:
            continue
        if line.startswith("case $(pcs --version) in "):
            out = _check(["sh", "-c", line + '; printf "%s\\0" "$@"']).stdout
            params = out.split("\0")[:-1]
            continue
        argv = shlex.split(line)
        assert argv[:3] == ["pcs", "-f", "$cib"], line
        if params is not None:
            assert argv[-1] == "$@", line
            argv, params = argv[:-1] + params, None
        argvs.append(argv)
    return argvs


class Cib:
    """Offline CIB helpers (CIB_file / pcs -f): never touches a live cluster."""

    def __init__(self, tmp_path: Path, agents: frozenset[str]) -> None:
        self.tmp_path = tmp_path
        # crmsh and pcs refuse agents without meta-data: force them for those only
        self.missing = {f"ocf:lvsocf:{n}" for n in AGENT_NAMES if n not in agents}

    def new(self, name: str = "cib") -> Path:
        """An empty CIB with quorum, stonith disabled and two nodes."""
        cib = self.tmp_path / f"{name}.xml"
        cib.write_text(_check(["cibadmin", "--empty"]).stdout)
        env = _cib_env(cib)
        _check(["cibadmin", "--modify", "--xml-text", '<cib have-quorum="1"/>'], env)
        _check(["crm_attribute", "-n", "stonith-enabled", "-v", "false"], env)
        for i in (1, 2):
            _check(["cibadmin", "-o", "nodes", "-C", "-X", f'<node id="{i}" uname="node{i}"/>'],
                   env)
        return cib

    def crm_load(self, cib: Path, script: Path, force: bool = False) -> None:
        text = script.read_text()
        force = force or any(agent in text for agent in self.missing)
        argv = ["crm", *(["-F"] if force else []), "configure", "load", "update", str(script)]
        _check(argv, _cib_env(cib))

    def pcs_load(self, cib: Path, script_text: str) -> int:
        """Run the generated pcs commands against CIB; returns how many were run."""
        argvs = pcs_argvs(script_text)
        for argv in argvs:
            argv = ["pcs", "-f", str(cib), *argv[3:]]
            if argv[3:5] == ["resource", "create"] and argv[6] in self.missing:
                argv.append("--force")
            # pcs 0.12 (Debian 13) warns about spellings it will drop; 0.11 takes them
            assert "Deprecat" not in _check(argv).stderr, argv
        return len(argvs)

    def verify(self, cib: Path) -> None:
        _check(["crm_verify", "-x", str(cib)])


@pytest.fixture
def cib(tmp_path: Path, installed_agents: frozenset[str]) -> Cib:
    if not all(shutil.which(t) for t in ("cibadmin", "crm_verify", "crm_attribute")):
        pytest.skip("pacemaker CLI tools not installed")
    return Cib(tmp_path, installed_agents)


@pytest.fixture
def convert() -> Callable[..., tuple[int, str, str]]:
    """convert(path, *args) -> (exit status, output text, stderr): `lvsocf convert` in-process,
    output written with -o next to the input."""

    def call(path: Path, *args: str) -> tuple[int, str, str]:
        out = path.parent / (path.name + ".out")
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            rc = run([str(path), "-o", str(out), *args])
        return rc, out.read_text() if rc == 0 else "", err.getvalue()

    return call
