"""The .deb installed into a clean Debian 12 root, and only the installed files exercised.

A `debootstrap --variant=minbase bookworm` root in build/ (from the mirror this host's apt
uses), the .deb installed there by apt-get together with resource-agents, pcs, crmsh,
libxml2-utils and Debian's python3-pyroute2 (which the agents must not import); then, inside
the chroot with /proc mounted: ocf-tester on every agent by its installed path, the OCF 1.1
meta-data against pcs' RelaxNG, `pcs resource describe`, `crm ra info`, `lvsocf --version`,
missing dependencies (exit 5 with a reason, never a traceback) and a purge that leaves
nothing.

There is no IPVS in the chroot's kernel (the host's): ocf-tester passes meta-data (1.0 DTD),
permissions, validate-all, monitor and the probe, then stops at start, which must fail with
OCF_ERR_INSTALLED (5) and the reason 'IPVS is not available'. Nothing is cached: each run
bootstraps a fresh root (about a minute) and removes it afterwards.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging_helpers import REPO, agent_names, is_root, pkg, require, run

pytestmark = pytest.mark.packaging

SUITE = "bookworm"
AGENT_DIR = "/usr/lib/ocf/resource.d/lvsocf"
RNG_1_1 = "/usr/share/pcs/data/ocf-1.1.rng"
CHROOT_PACKAGES = ["resource-agents", "pcs", "crmsh", "libxml2-utils", "python3-pyroute2"]
SETUP_BUDGET = 480  # seconds: debootstrap + apt-get in CI
# Parameters ocf-tester passes (-o) to each agent: enough for validate-all to succeed.
AGENT_PARAMS = {
    "IPVSService": {"vip": "192.0.2.10", "port": "80"},
    "IPVSRealServer": {"vip": "192.0.2.10", "port": "80", "rip": "198.51.100.11"},
    "IPVSSync": {"interface": "lo"},
}
# /sys/module entries that make validate-all at depth 10 believe IPVS can be loaded, so that
# start reaches the netlink backend in the no-pyroute2 test.
FAKE_MODULES = ("ip_vs", "ip_vs_wlc", "ip_vs_rr")
# Agents whose start talks netlink itself. IPVSRealServer's start first needs its service in
# /proc/net/ip_vs (no IPVS here) and reaches netlink only in the check engine.
NETLINK_STARTS = ("IPVSService", "IPVSSync")


@dataclass(frozen=True)
class Source:
    uri: str
    suite: str
    components: tuple[str, ...]


def debian_sources(etc: Path = Path("/etc/apt")) -> list[Source]:
    """The host's apt sources of this Debian release (one-line .list and deb822 .sources)."""
    found: list[Source] = []
    files = [etc / "sources.list"] if (etc / "sources.list").is_file() else []
    files += sorted((etc / "sources.list.d").glob("*.list"))
    for path in files:
        for line in path.read_text().splitlines():
            line = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
            if len(line) >= 3 and line[0] == "deb":
                found.append(Source(line[1].rstrip("/"), line[2], tuple(line[3:])))
    for path in sorted((etc / "sources.list.d").glob("*.sources")):
        for stanza in re.split(r"\n\s*\n", path.read_text()):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line or line[:1].isspace():
                    continue
                key, value = line.split(":", 1)
                fields[key.strip().lower()] = value.strip()
            if "deb" not in fields.get("types", "").split() or \
                    fields.get("enabled", "yes").lower() == "no":
                continue
            for uri in fields.get("uris", "").split():
                for suite in fields.get("suites", "").split():
                    found.append(Source(uri.rstrip("/"), suite,
                                        tuple(fields.get("components", "").split())))
    return [s for s in found if s.suite == SUITE or s.suite.startswith(SUITE + "-")]


def test_debian_sources_parses_both_formats(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text(
        "# comment\ndeb [arch=amd64] http://mirror.example/debian/ bookworm main contrib\n"
        "deb-src http://mirror.example/debian bookworm main\n")
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://deb.example/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
        "Types: deb\n# a comment\nURIs: http://other.example/x\nSuites: nodistro\n"
        "Components: main\n")
    (tmp_path / "sources.list.d" / "off.sources.disabled").write_text(
        "Types: deb\nURIs: http://no\nSuites: bookworm\nComponents: main\n")
    assert debian_sources(tmp_path) == [
        Source("http://mirror.example/debian", "bookworm", ("main", "contrib")),
        Source("http://deb.example/debian", "bookworm", ("main",)),
        Source("http://deb.example/debian", "bookworm-updates", ("main",)),
    ]


def mounts_under(root: Path) -> list[str]:
    points = [line.split()[1].replace("\\040", " ")
              for line in Path("/proc/self/mounts").read_text().splitlines()]
    return [p for p in points if p == str(root) or p.startswith(f"{root}/")]


class Chroot:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.timings: dict[str, float] = {}

    def run(self, argv: list[str], *, env: dict[str, str] | None = None, check: bool = True,
            timeout: float = 300):
        base = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8",
                "DEBIAN_FRONTEND": "noninteractive"}
        return run(["chroot", str(self.root), *argv], env={**base, **(env or {})}, check=check,
                   timeout=timeout)

    def path(self, inside: str) -> Path:
        return self.root / inside.lstrip("/")

    def agent(self, name: str, action: str, params: dict[str, str] | None = None,
              **env: str):
        variables = {"OCF_ROOT": "/usr/lib/ocf", "OCF_RESOURCE_INSTANCE": f"t-{name}", **env}
        variables.update({f"OCF_RESKEY_{k}": v for k, v in (params or {}).items()})
        return self.run([f"{AGENT_DIR}/{name}", action], env=variables, check=False)


def _teardown(root: Path) -> None:
    for point in sorted(mounts_under(root), reverse=True):
        run(["umount", point], check=False)
    for point in sorted(mounts_under(root), reverse=True):
        run(["umount", "--lazy", point], check=False)
    if left := mounts_under(root):
        pytest.fail(f"still mounted, {root} left in place: {left}")
    shutil.rmtree(root)


@pytest.fixture(scope="module")
def chroot(deb: Path) -> Iterator[Chroot]:
    if not is_root():
        pytest.fail("debootstrap and chroot need root (CI runs as root)")
    require("debootstrap", "mount", "umount")
    sources = debian_sources()
    mirror = next((s.uri for s in sources if s.suite == SUITE), None)
    if mirror is None:
        pytest.fail(f"no '{SUITE}' source in /etc/apt/sources.list(.d): which mirror?")
    base = REPO / "build"
    base.mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="debian12-chroot-", dir=base))
    root.chmod(0o755)  # it is / in the chroot: ocf-tester runs meta-data as nobody
    box = Chroot(root)
    started = time.monotonic()
    try:
        run(["debootstrap", "--variant=minbase", SUITE, str(root), mirror], timeout=900)
        box.timings["debootstrap"] = time.monotonic() - started
        box.path("/etc/apt/sources.list").write_text("".join(
            f"deb {s.uri} {s.suite} {' '.join(s.components or ('main',))}\n" for s in sources))
        policy = box.path("/usr/sbin/policy-rc.d")  # no daemon starts in the chroot
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        # a throw-away root: no fsync per unpacked file (what Debian's docker images do)
        box.path("/etc/dpkg/dpkg.cfg.d/unsafe-io").write_text("force-unsafe-io\n")
        run(["mount", "-t", "proc", "proc", str(box.path("/proc"))])
        box.run(["apt-get", "update", "-qq"])
        shutil.copy(deb, box.path(f"/tmp/{deb.name}"))
        box.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                 f"/tmp/{deb.name}", *CHROOT_PACKAGES], timeout=900)
        box.timings["apt-get"] = time.monotonic() - started - box.timings["debootstrap"]
        yield box
    finally:
        _teardown(root)


def test_setup_within_budget(chroot: Chroot) -> None:
    print(", ".join(f"{step} {seconds:.0f}s" for step, seconds in chroot.timings.items()))
    assert sum(chroot.timings.values()) < SETUP_BUDGET, chroot.timings


def test_installed_files_and_version(chroot: Chroot) -> None:
    status = chroot.run(["dpkg-query", "-W", "-f", "${Status} ${Version}", "lvsocf"]).stdout
    assert status == f"install ok installed {pkg.deb_version(pkg.version())}"
    for name in agent_names():
        assert chroot.path(f"{AGENT_DIR}/{name}").stat().st_mode & 0o777 == 0o755
    done = chroot.run(["lvsocf", "--version"])
    assert pkg.version() in done.stdout.split()
    assert chroot.path("/usr/share/man/man1/lvsocf.1.gz").is_file()
    if (REPO / "crm-examples").is_dir():
        assert chroot.path("/usr/share/doc/lvsocf/crm-examples").is_dir()
    # postinst compiled the library with the Python that runs it
    assert list(chroot.path("/usr/lib/lvsocf/lvsocf").glob("__pycache__/*.pyc"))


@pytest.mark.parametrize("agent", agent_names())
def test_ocf_tester_until_start_fails_without_ipvs(chroot: Chroot, agent: str) -> None:
    if agent not in AGENT_PARAMS:
        pytest.fail(f"new agent {agent}: add its ocf-tester parameters to AGENT_PARAMS")
    options = [arg for k, v in AGENT_PARAMS[agent].items() for arg in ("-o", f"{k}={v}")]
    done = chroot.run(["ocf-tester", "-n", f"t-{agent}", *options, f"{AGENT_DIR}/{agent}"],
                      env={"OCF_ROOT": "/usr/lib/ocf"}, check=False, timeout=120)
    out = done.stdout + done.stderr
    # Everything before start passed (each failure prints "* rc=N: ..."), start failed with 5.
    assert re.findall(r"^\* rc=(\d+): (.*)$", out, re.M) == [
        ("5", "Start failed.  Did you supply enough options with -o ?")], out
    assert "ocf-exit-reason:IPVS is not available" in out, out
    assert "Aborting tests" in out and done.returncode == 1, out
    assert "Traceback" not in out, out


@pytest.mark.parametrize("agent", agent_names())
def test_meta_data_1_1_validates_and_shows_the_version(chroot: Chroot, agent: str) -> None:
    done = chroot.agent(agent, "meta-data", OCF_RA_VERSION_MAJOR="1", OCF_RA_VERSION_MINOR="1")
    assert done.returncode == 0, done.stderr
    assert "<version>1.1</version>" in done.stdout
    assert re.search(rf'<resource-agent name="{agent}" version="{re.escape(pkg.version())}"',
                     done.stdout)
    chroot.path(f"/tmp/{agent}.xml").write_text(done.stdout)
    chroot.run(["xmllint", "--noout", "--relaxng", RNG_1_1, f"/tmp/{agent}.xml"])


def test_pcs_resource_describe(chroot: Chroot) -> None:
    done = chroot.run(["pcs", "resource", "describe", "ocf:lvsocf:IPVSService"], timeout=120)
    assert done.stdout.startswith("ocf:lvsocf:IPVSService - ")
    for param in ("vip", "port", "scheduler", "fallback"):
        assert f"\n  {param}" in done.stdout, done.stdout


def test_crm_ra_info(chroot: Chroot) -> None:
    if "IPVSSync" not in agent_names():
        pytest.fail("agents/IPVSSync is missing from this checkout")
    done = chroot.run(["crm", "ra", "info", "ocf:lvsocf:IPVSSync"], timeout=120)
    assert "(ocf:lvsocf:IPVSSync)" in done.stdout and "interface*" in done.stdout, done.stdout
    assert "ERROR" not in done.stderr, done.stderr


def agent_sys_path_line(chroot: Chroot) -> str:
    text = chroot.path(f"{AGENT_DIR}/{agent_names()[0]}").read_text()
    return next(line for line in text.splitlines() if line.startswith("sys.path[:0]"))


def test_the_package_ships_and_imports_no_pyroute2(chroot: Chroot) -> None:
    """Debian's python3-pyroute2 is installed, and the agents' library still imports none."""
    debian = chroot.run(["python3", "-c", "import pyroute2; print(pyroute2.__file__)"]).stdout
    assert debian.startswith("/usr/lib/python3/dist-packages/pyroute2/")
    assert agent_sys_path_line(chroot).startswith("sys.path[:0] = ['/usr/lib/lvsocf']")
    code = (f"import sys; {agent_sys_path_line(chroot)}\n"
            "import lvsocf.ipvs.netlink, lvsocf.cli.status, lvsocf\n"
            "print(lvsocf.__file__, 'pyroute2' in sys.modules)")
    assert chroot.run(["python3", "-c", code]).stdout.split() == [
        "/usr/lib/lvsocf/lvsocf/__init__.py", "False"]
    assert not chroot.path("/usr/lib/lvsocf/vendor").exists()


@pytest.fixture
def without_pyroute2(chroot: Chroot) -> Iterator[None]:
    """No pyroute2 at all (Debian's removed) and a fake /sys/module so that start gets as far
    as the netlink backend."""
    chroot.run(["dpkg", "--remove", "python3-pyroute2"])
    fakes = [chroot.path(f"/sys/module/{m}") for m in FAKE_MODULES]
    for fake in fakes:
        fake.mkdir(parents=True)
    try:
        yield
    finally:
        for fake in fakes:
            fake.rmdir()


@pytest.mark.parametrize("agent", [a for a in agent_names() if a in NETLINK_STARTS])
def test_start_needs_no_pyroute2(chroot: Chroot, without_pyroute2: None, agent: str) -> None:
    """lvsocf.ipvs speaks netlink itself: without any pyroute2, start gets to the kernel and
    fails only because the chroot's kernel has no IPVS."""
    done = chroot.agent(agent, "start", AGENT_PARAMS.get(agent))
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 5, done.stderr
    reason = re.findall(r"^ocf-exit-reason:(.*)$", done.stderr, re.M)
    assert reason and "IPVS is not available" in reason[0], done.stderr
    probe = chroot.agent(agent, "monitor", AGENT_PARAMS.get(agent))
    assert probe.returncode == 7 and "Traceback" not in probe.stderr, probe.stderr


def test_command_needs_no_pyroute2(chroot: Chroot, without_pyroute2: None) -> None:
    done = chroot.run(["lvsocf", "status"], check=False)
    assert "Traceback" not in done.stderr and "pyroute2" not in done.stderr, done.stderr


def test_missing_lxml_is_not_installed(chroot: Chroot) -> None:
    """meta-data needs lxml: without it, exit 5 with a reason; the other actions go on."""
    chroot.run(["dpkg", "--remove", "--force-depends", "python3-lxml"])
    for agent in agent_names():
        done = chroot.agent(agent, "meta-data")
        assert done.returncode == 5 and "Traceback" not in done.stderr, done.stderr
        assert re.search(r"^ocf-exit-reason:.*lxml", done.stderr, re.M), done.stderr
        valid = chroot.agent(agent, "validate-all", AGENT_PARAMS.get(agent))
        assert valid.returncode == 0, valid.stderr
        probe = chroot.agent(agent, "monitor", AGENT_PARAMS.get(agent))
        assert probe.returncode == 7, probe.stderr


def test_purge_leaves_nothing(chroot: Chroot) -> None:
    """prerm removes the bytecode the agents (root) and postinst wrote; dpkg the rest."""
    done = chroot.run(["dpkg", "--purge", "lvsocf"])
    assert "not empty" not in done.stdout + done.stderr, done.stdout + done.stderr
    for gone in ("/usr/lib/lvsocf", AGENT_DIR, "/usr/bin/lvsocf", "/usr/share/doc/lvsocf"):
        assert not chroot.path(gone).exists(), gone
