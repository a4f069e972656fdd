"""The built .deb and .rpm as files: names, versions, dependencies and contents (dpkg-deb and
rpm -qp on the packages `make deb` and `make rpm` built from this checkout)."""

from __future__ import annotations

import ast
import re
import subprocess
import tarfile
from pathlib import Path

import pytest
from packaging_helpers import REPO, agent_names, pkg, run

pytestmark = pytest.mark.packaging
AGENT_DIR = "/usr/lib/ocf/resource.d/lvsocf"


def expected_files() -> list[str]:
    """Files both packages must hold, from what this checkout has now."""
    files = [f"{AGENT_DIR}/{name}" for name in agent_names()]
    files += [f"/usr/bin/{name}" for name in pkg.scripts()]
    files += [f"/usr/lib/lvsocf/lvsocf/{p.relative_to(REPO / 'lvsocf')}"
              for p in pkg.source_files(REPO / "lvsocf")]
    files += ["/usr/share/doc/lvsocf/README.md"]
    if (REPO / "crm-examples").is_dir():
        files += [f"/usr/share/doc/lvsocf/crm-examples/{p.relative_to(REPO / 'crm-examples')}"
                  for p in pkg.source_files(REPO / "crm-examples")]
    return files


# The lab (lab/: VM runner, roots, demo, cluster...) is development tooling, and pyroute2 is a
# test dependency only: neither may reach a package, under any folder or file name.
NOT_SHIPPED = re.compile(r"(^|[/_.-])(lab|pyroute2)($|[/_.-])|\.whl$|^/usr/lib/lvsocf/vendor")


def deb_files(deb: Path) -> list[str]:
    listing = run(["dpkg-deb", "-c", str(deb)]).stdout
    return ["/" + line.split(None, 5)[5].removeprefix("./") for line in listing.splitlines()]


def test_the_not_shipped_pattern() -> None:
    for path in ("/usr/lib/lvsocf/lab/vm.py", "/usr/lib/lvsocf/lvsocf/lab/", "/x/lab.py",
                 "/usr/lib/lvsocf/vendor/pyroute2/__init__.py", "/usr/lib/lvsocf/vendor/",
                 "/usr/lib/lvsocf/pyroute2-0.9.7.dist-info/RECORD", "pyroute2-0.9.7.whl",
                 "/usr/share/doc/lvsocf-lab/x", "lvsocf-0.1/lab/roots.py"):
        assert NOT_SHIPPED.search(path), path
    for path in ("/usr/lib/lvsocf/lvsocf/agents/labels.py", "/usr/share/doc/lvsocf/README.md",
                 "/usr/lib/lvsocf/lvsocf/ipvs/netlink.py"):
        assert not NOT_SHIPPED.search(path), path


def test_no_lab_and_no_pyroute2_in_the_deb(deb: Path) -> None:
    files = deb_files(deb)
    assert "/usr/lib/lvsocf/lvsocf/__init__.py" in files
    assert [f for f in files if NOT_SHIPPED.search(f)] == []


def test_no_lab_and_no_pyroute2_in_the_rpm(rpms: dict[str, Path]) -> None:
    files = run(["rpm", "-qlp", str(rpms["noarch"])]).stdout.split()
    assert "/usr/lib/lvsocf/lvsocf/__init__.py" in files
    assert [f for f in files if NOT_SHIPPED.search(f)] == []
    provides = run(["rpm", "-qp", "--provides", str(rpms["noarch"])]).stdout
    assert "bundled" not in provides and "pyroute2" not in provides


def test_no_shipped_module_imports_the_lab_or_pyroute2() -> None:
    """What the packages ship (every file of lvsocf/, the agents) imports neither: the lab is
    not there to import, and lvsocf.ipvs speaks netlink itself."""
    sources = [p for p in pkg.source_files(REPO / "lvsocf") if p.suffix == ".py"]
    sources += [REPO / "agents" / name for name in agent_names()]
    found = []
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                     else [])
            found += [f"{path}: {n}" for n in names if n.split(".")[0] in ("lab", "pyroute2")]
    assert found == []


def test_deb_control(deb: Path) -> None:
    fields = run(["dpkg-deb", "-f", str(deb)]).stdout
    control = dict(re.findall(r"^([A-Za-z-]+): (.*)$", fields, re.M))
    assert control["Package"] == "lvsocf"
    assert control["Version"] == pkg.deb_version(pkg.version())
    assert control["Architecture"] == "all"
    depends = [d.strip() for d in control["Depends"].split(",")]
    for needed in ("python3 (>= 3.11)", "python3-lxml", "resource-agents"):
        assert needed in depends
    assert not any("requests" in d for d in depends)    # no product code uses it (README)
    assert not any("pyroute2" in d for d in depends)  # lvsocf.ipvs speaks netlink itself
    assert "ipvsadm" in control["Recommends"] + control.get("Suggests", "")


def test_deb_contents(deb: Path) -> None:
    listing = run(["dpkg-deb", "-c", str(deb)]).stdout
    entries = {}
    for line in listing.splitlines():
        mode, owner, _size, _date, _time, path = line.split(None, 5)
        entries["/" + path.removeprefix("./")] = (mode, owner)
    for path in expected_files():
        assert path in entries, path
        assert entries[path][1] == "root/root", path
    for name in agent_names():
        assert entries[f"{AGENT_DIR}/{name}"][0] == "-rwxr-xr-x"
    for name in pkg.scripts():
        assert f"/usr/share/man/man1/{name}.1.gz" in entries
    assert "/usr/share/doc/lvsocf/copyright" in entries
    assert not [p for p in entries if "__pycache__" in p or p.endswith(".pyc")]
    scripts = run(["dpkg-deb", "-I", str(deb)]).stdout
    assert "postinst" in scripts and "prerm" in scripts


def test_rpm_lists_the_agents_and_files(rpms: dict[str, Path]) -> None:
    rpm = rpms["noarch"]
    assert rpm.name == f"lvsocf-{pkg.rpm_version(pkg.version())}-1.noarch.rpm"
    files = set(run(["rpm", "-qlp", str(rpm)]).stdout.split())
    for path in expected_files():
        assert path in files, path
    for name in pkg.scripts():
        assert any(re.fullmatch(rf"/usr/share/man/man1/{name}\.1(\.gz)?", f) for f in files)
    assert not [p for p in files if "__pycache__" in p or p.endswith(".pyc")]
    long_listing = run(["rpm", "-qlvp", str(rpm)]).stdout.splitlines()
    for name in agent_names():
        line = next(line for line in long_listing if line.endswith(f"{AGENT_DIR}/{name}"))
        assert line.startswith("-rwxr-xr-x") and " root " in line, line


def test_rpm_dependencies(rpms: dict[str, Path]) -> None:
    rpm = str(rpms["noarch"])
    requires = set(line.strip() for line in run(["rpm", "-qRp", rpm]).stdout.splitlines())
    for needed in ("python3 >= 3.11", "python3-lxml", "resource-agents", "/usr/bin/python3"):
        assert needed in requires, requires
    assert not [r for r in requires if "requests" in r]
    assert not [r for r in requires if "pyroute2" in r]
    assert "ipvsadm" in run(["rpm", "-qp", "--recommends", rpm]).stdout.split()
    fmt = run(["rpm", "-qp", "--qf", "%{VERSION} %{RELEASE} %{ARCH} %{LICENSE}", rpm]).stdout
    assert fmt.split()[:3] == [pkg.rpm_version(pkg.version()), "1", "noarch"]
    assert "GPL-2.0-or-later" in fmt


def test_source_rpm_rebuilds_offline(rpms: dict[str, Path], tmp_path: Path) -> None:
    """The .src.rpm carries the tarball (with the spec, for rpmbuild -ta) and nothing else, so
    a RHEL builder can rebuild it without network; neither carries the lab or pyroute2."""
    files = run(["rpm", "-qlp", str(rpms["src"])]).stdout.split()
    tarball = f"lvsocf-{pkg.version()}.tar.gz"
    assert sorted(files) == sorted([tarball, "lvsocf.spec"])
    payload = subprocess.run(["rpm2cpio", str(rpms["src"])], capture_output=True, check=True)
    subprocess.run(["cpio", "-id", "--quiet"], input=payload.stdout, cwd=tmp_path, check=True)
    with tarfile.open(tmp_path / tarball) as tar:
        names = tar.getnames()
    top = f"lvsocf-{pkg.version()}"
    assert f"{top}/lvsocf.spec" in names and f"{top}/packaging/pkg.py" in names
    assert f"{top}/lvsocf/__init__.py" in names
    assert all(name.startswith(top + "/") for name in names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert [n for n in names if NOT_SHIPPED.search(n.removeprefix(top))] == []
