"""`make install DESTDIR=... PREFIX=...`: what lands where, the version in one place, and the
recipe's pieces (installed agent header, version syntax of dpkg and rpm)."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging_helpers import REPO, agent_names, make, pkg, run

pytestmark = pytest.mark.packaging


def installed(tmp_path: Path, *args: str) -> Path:
    make("install", f"DESTDIR={tmp_path}", *args)
    return tmp_path


def test_version_is_one_number_in_lvsocf_init() -> None:
    with open(REPO / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "lvsocf.__version__"}
    import lvsocf
    assert pkg.version() == lvsocf.__version__
    done = subprocess.run(["/usr/bin/python3", str(REPO / "packaging" / "pkg.py"), "version",
                           "--deb"], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == pkg.deb_version(lvsocf.__version__)


@pytest.mark.parametrize(("pep440", "deb", "rpm"), [
    ("0.1.0", "0.1.0-1", "0.1.0"),
    ("1.2rc1", "1.2~rc1-1", "1.2~rc1"),
    ("1.2.dev3", "1.2~~dev3-1", "1.2~~dev3"),
    ("1.2b1.dev2", "1.2~b1~dev2-1", "1.2~b1~dev2"),
    ("1.2.post1", "1.2+post1-1", "1.2^post1"),
])
def test_version_syntax(pep440: str, deb: str, rpm: str) -> None:
    assert pkg.deb_version(pep440) == deb
    assert pkg.rpm_version(pep440) == rpm


def test_versions_sort_as_pep440_in_dpkg_and_rpm() -> None:
    ordered = ["1.0.dev1", "1.0a1.dev1", "1.0a1", "1.0b2", "1.0rc1", "1.0", "1.0.post1", "1.0.1"]
    for older, newer in zip(ordered, ordered[1:], strict=False):
        run(["dpkg", "--compare-versions", pkg.deb_version(older), "lt", pkg.deb_version(newer)])
        lua = (f'%{{lua: print(rpm.vercmp("{pkg.rpm_version(older)}", '
               f'"{pkg.rpm_version(newer)}"))}}')
        assert run(["rpm", "--eval", lua]).stdout.strip() == "-1", (older, newer)


@pytest.mark.parametrize("bad", ["1!2.0", "1.0+local", "v1.0", "1.0-1"])
def test_unsupported_versions_are_refused(bad: str) -> None:
    with pytest.raises(pkg.BuildError):
        pkg.deb_version(bad)


def test_the_python_dependencies_are_the_distributions() -> None:
    """Every dependency in pyproject is a package dependency of the .deb/.rpm: nothing is
    vendored."""
    with open(REPO / "pyproject.toml", "rb") as f:
        deps = tomllib.load(f)["project"]["dependencies"]
    spec = (REPO / "packaging" / "lvsocf.spec.in").read_text()
    for dep in deps:
        name = re.match(r"^[A-Za-z0-9_.-]+", dep)[0].lower()
        assert f"python3-{name}" in pkg.DEB_DEPENDS, dep
        assert f"%{{lvsocf_pypkg}}-{name}" in spec, dep
    assert not (REPO / "packaging" / "vendor.txt").exists()


def test_make_install_layout(tmp_path: Path) -> None:
    root = installed(tmp_path, "PREFIX=/usr")
    lib = root / "usr/lib/lvsocf"
    for src in pkg.source_files(REPO / "lvsocf"):
        copy = lib / "lvsocf" / src.relative_to(REPO / "lvsocf")
        assert copy.read_bytes() == src.read_bytes(), copy
    assert not list(root.rglob("__pycache__")) and not list(root.rglob("*.pyc"))
    assert (lib / f"lvsocf-{pkg.version()}.dist-info/METADATA").is_file()
    assert sorted(p.name for p in lib.iterdir()) == ["lvsocf", f"lvsocf-{pkg.version()}.dist-info"]

    agents = root / "usr/lib/ocf/resource.d/lvsocf"
    assert sorted(p.name for p in agents.iterdir()) == agent_names()
    for name in agent_names():
        path = agents / name
        assert path.stat().st_mode & 0o777 == 0o755
        text = path.read_text()
        assert "sys.path[:0] = ['/usr/lib/lvsocf']" in text
        compile(text, str(path), "exec")
        # the agent's own code follows unchanged, bash's launcher lines set
        original = (REPO / "agents" / name).read_text().split("\n")
        if original[0] == pkg.BASH:
            assert text.startswith("#!/bin/bash\n")
            original = pkg.launcher_lines(original, "/usr/bin/python3", "/usr/lib/lvsocf")
            assert "python=/usr/bin/python3" in original and "lib=/usr/lib/lvsocf" in original
        else:
            assert text.startswith("#!/usr/bin/python3\n")
        assert [line for line in text.split("\n")[1:] if pkg.MARK not in line] == \
            original[1:]

    for name in pkg.scripts():
        command = root / "usr/bin" / name
        assert command.stat().st_mode & 0o777 == 0o755
        assert command.read_text().startswith("#!/usr/bin/python3\n")
        page = (root / f"usr/share/man/man1/{name}.1").read_text()
        assert f'.TH {name.upper()} "1"' in page and pkg.version() in page
        assert "SEE ALSO" in page
    doc = root / "usr/share/doc/lvsocf"
    assert (doc / "README.md").is_file()
    examples = REPO / "crm-examples"
    for src in pkg.source_files(examples) if examples.is_dir() else ():
        assert (doc / "crm-examples" / src.relative_to(examples)).read_bytes() == src.read_bytes()


def test_make_install_prefix_and_uninstall(tmp_path: Path) -> None:
    root = installed(tmp_path, "PREFIX=/usr/local", "PYTHON3=/usr/bin/python3")
    assert (root / "usr/local/lib/lvsocf/lvsocf/__init__.py").is_file()
    assert (root / "usr/local/bin/lvsocf").is_file()
    assert (root / "usr/local/share/man/man1/lvsocf.1").is_file()
    # Pacemaker looks for agents in /usr/lib/ocf whatever the prefix
    agent = root / "usr/lib/ocf/resource.d/lvsocf" / agent_names()[0]
    assert "sys.path[:0] = ['/usr/local/lib/lvsocf']" in agent.read_text()
    (root / "usr/local/lib/lvsocf/lvsocf/__pycache__").mkdir()  # as an agent run leaves it
    make("uninstall", f"DESTDIR={tmp_path}", "PREFIX=/usr/local")
    assert [p for p in root.rglob("*") if not p.is_dir()] == []


def test_installed_command_runs_the_entry_point(tmp_path: Path) -> None:
    """The installed `lvsocf` against the staged library (its sys.path entries are absolute,
    so PYTHONPATH points at the stage here; the chroot test runs it in place)."""
    root = installed(tmp_path, "PREFIX=/usr")
    lib = root / "usr/lib/lvsocf"
    done = run(["/usr/bin/python3", "-B", str(root / "usr/bin/lvsocf"), "--version"],
               env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(lib)})
    assert pkg.version() in done.stdout


@pytest.mark.parametrize("source", [
    '#!/usr/bin/python3\n"""doc"""\nimport sys\nprint(sys.path[0])\n',
    '#!/usr/bin/python3\n"""doc\n\nmore"""\nfrom __future__ import annotations\n'
    'from __future__ import division\nprint(1)\n',
    '#!/usr/bin/python3\n# comment\nimport sys\n',
    'print(2)\n',
])
def test_agent_header_goes_after_docstring_and_future_imports(source: str) -> None:
    layout = pkg.Layout(prefix="/opt/x", python="/usr/bin/python3.11")
    text = pkg.agent_text(source, layout)
    assert text.startswith("#!/usr/bin/python3.11\n")
    compile(text, "agent", "exec")  # a __future__ import after other code would not compile
    tree_lines = text.split("\n")
    at = next(i for i, line in enumerate(tree_lines) if line.startswith("sys.path[:0]"))
    assert "'/opt/x/lib/lvsocf'" in tree_lines[at]
    body = [line for line in tree_lines[1:] if pkg.MARK not in line]
    assert body == (source.split("\n", 1)[1] if source.startswith("#!") else source).split("\n")


def test_bash_agent_keeps_bash_and_is_told_where_python_and_the_library_are() -> None:
    source = ('#!/bin/bash\n""":"\npython=/usr/bin/python3\nlib=\nexec "$python" "$0" "$@"\n'
              '":"""\n"""doc"""\nimport sys\n')
    text = pkg.agent_text(source, pkg.Layout(prefix="/opt/my lvs", python="/opt/py/bin/python3"))
    lines = text.split("\n")
    assert lines[:4] == ["#!/bin/bash", '""":"', "python=/opt/py/bin/python3",
                         "lib='/opt/my lvs/lib/lvsocf'"]
    compile(text, "agent", "exec")
    with pytest.raises(pkg.BuildError, match="lib="):
        pkg.agent_text(source.replace("lib=\n", ""), pkg.Layout())


def test_reinstall_drops_agents_that_are_gone(tmp_path: Path) -> None:
    agents = tmp_path / "usr/lib/ocf/resource.d/lvsocf"
    agents.mkdir(parents=True)
    (agents / "IPVSOld").write_text(f"#!/usr/bin/python3\nimport sys  # {pkg.MARK}\n")
    (agents / "SiteLocal").write_text("#!/bin/sh\n")  # not ours: left alone
    installed(tmp_path, "PREFIX=/usr")
    assert sorted(p.name for p in agents.iterdir()) == sorted([*agent_names(), "SiteLocal"])
