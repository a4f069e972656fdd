#!/usr/bin/env python3
"""lvsocf's packaging: one install recipe for `make install`, the .deb and the .rpm.

    python3 packaging/pkg.py version [--deb | --rpm]
    python3 packaging/pkg.py install [--destdir DIR] [--prefix /usr/local] [--python PYTHON]
                                     [--ocf-root /usr/lib/ocf]
    python3 packaging/pkg.py deb [--out dist] [--work build/deb]
    python3 packaging/pkg.py rpm [--out dist] [--work build/rpm]

What `install` puts where (PREFIX is /usr for the packages):

    PREFIX/lib/lvsocf/lvsocf/                the library (every file of lvsocf/, caches excluded)
    PREFIX/lib/lvsocf/lvsocf-V.dist-info/    its metadata (importlib.metadata.version works)
    OCF_ROOT/resource.d/lvsocf/NAME          every file of agents/, first line #!PYTHON and
                                             the library's directory put first on sys.path
    PREFIX/bin/NAME                          every [project.scripts] command of pyproject.toml
    PREFIX/share/man/man1/NAME.1             help2man from `NAME --help`
    PREFIX/share/doc/lvsocf/                 README.md and crm-examples/

The library is private to the agents and the command: no other Python program sees it. Its
only Python dependency, lxml, is the distribution's. Bytecode is not shipped: the packages
compile it after installation and remove it before removal.

Standard library only (Python >= 3.11); help2man, dpkg-deb and rpmbuild are run as programs.
"""

from __future__ import annotations

import argparse
import ast
import gzip
import hashlib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "packaging"
NAME = "lvsocf"
SPEC_TEMPLATE = HERE / "lvsocf.spec.in"
MAINTAINER = os.environ.get("LVSOCF_MAINTAINER", "lvsocf developers <lvsocf@localhost>")
REVISION = "1"  # deb revision and rpm release of a build of one upstream version
IGNORED = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis"}
IGNORED_SUFFIXES = (".pyc", ".pyo", ".swp", "~", ".tmp", ".orig", ".rej")
# What a source tarball (the rpm's Source0) carries: what `install` reads, and the recipe.
SDIST_TOP = ("pyproject.toml", "README.md", "Makefile", "LICENSE", "COPYING",
             "lvsocf", "agents", "crm-examples", "packaging")
DOCS = ("README.md",)
EXAMPLES = "crm-examples"
MARK = "added by lvsocf's installer"

# One line for Debian's Description synopsis and rpm's Summary (pyproject's is too long).
SUMMARY = "Pacemaker OCF agents for highly available Linux IPVS load balancing"
DEB_DEPENDS = "python3 (>= 3.11), python3-lxml, resource-agents, kmod"
DEB_RECOMMENDS = "ipvsadm, pacemaker"
DEB_SUGGESTS = "crmsh | pcs"
LONG_DESCRIPTION = """\
Three OCF resource agents make Linux IPVS load balancing highly available
under Pacemaker/Corosync: ocf:lvsocf:IPVSService (one IPVS virtual service),
ocf:lvsocf:IPVSRealServer (one health-checked real server) and
ocf:lvsocf:IPVSSync (the kernel connection-sync daemon, a promotable clone).
The lvsocf command shows status, runs checks by hand and converts
ldirectord and keepalived configurations; crmsh and pcs examples are in
/usr/share/doc/lvsocf/crm-examples."""


class BuildError(Exception):
    """Something a packager must fix; the message says what."""


# ---- version: one number, in lvsocf/__init__.py --------------------------------------------

_PEP440 = re.compile(
    r"^(?P<release>\d+(?:\.\d+)*)"
    r"(?:(?P<pre_l>a|b|rc)(?P<pre_n>\d+))?"
    r"(?:\.post(?P<post>\d+))?"
    r"(?:\.dev(?P<dev>\d+))?$")


def version(root: Path = ROOT) -> str:
    """``__version__`` of lvsocf/__init__.py, read without importing lvsocf."""
    source = (root / NAME / "__init__.py").read_text()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets):
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                return node.value.value
    raise BuildError(f"{root / NAME / '__init__.py'}: no __version__ = \"...\" string")


def _split(v: str) -> re.Match[str]:
    m = _PEP440.match(v)
    if m is None:
        raise BuildError(f"version {v!r}: use N.N.N with an optional aN/bN/rcN, .postN, .devN "
                         "(no epoch, no local part)")
    return m


def upstream_version(v: str, post_sep: str) -> str:
    """A PEP 440 version in the syntax dpkg and rpm both order the same way: pre-releases and
    dev releases after ``~`` (before the release), post releases after ``post_sep``."""
    m = _split(v)
    out = m["release"]
    if m["pre_l"]:
        out += f"~{m['pre_l']}{m['pre_n']}"
    if m["post"]:
        out += f"{post_sep}post{m['post']}"
    if m["dev"]:
        # 1.0.dev1 < 1.0a1 < 1.0: "~~" sorts before "~a"; 1.0a1.dev1 < 1.0a1 likewise
        out += f"{'~' if m['pre_l'] or m['post'] else '~~'}dev{m['dev']}"
    return out


def deb_version(v: str, revision: str = REVISION) -> str:
    return f"{upstream_version(v, '+')}-{revision}"


def rpm_version(v: str) -> str:
    return upstream_version(v, "^")


def source_date_epoch() -> int:
    """SOURCE_DATE_EPOCH, else the last commit's time, else now (for dates in the packages)."""
    if value := os.environ.get("SOURCE_DATE_EPOCH", "").strip():
        return int(value)
    try:
        done = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%ct"],
                              capture_output=True, text=True, check=False, timeout=30)
    except OSError:
        done = None
    if done is not None and done.returncode == 0 and done.stdout.strip().isdigit():
        return int(done.stdout.strip())
    return int(time.time())


# ---- project facts from pyproject.toml -------------------------------------------------------

def project(root: Path = ROOT) -> dict:
    with open(root / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def scripts(root: Path = ROOT) -> dict[str, str]:
    """[project.scripts]: command name -> "module:function"."""
    return dict(project(root).get("scripts", {}))


# ---- files -----------------------------------------------------------------------------------

def source_files(top: Path) -> list[Path]:
    """Every file under ``top`` (or ``top`` itself), caches and editor droppings excluded."""
    if top.is_file():
        return [top]
    found = []
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED and not d.endswith(
            ".egg-info"))
        found += [Path(dirpath) / f for f in sorted(filenames)
                  if not f.endswith(IGNORED_SUFFIXES) and not f.startswith(".#")]
    return found


def _mkdir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o755)


def _write(path: Path, data: bytes | str, mode: int = 0o644) -> None:
    _mkdir(path.parent)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    path.chmod(mode)


def _copy(src: Path, dst: Path) -> None:
    _write(dst, src.read_bytes(), 0o755 if os.access(src, os.X_OK) else 0o644)


def _under(destdir: Path, path: str | Path) -> Path:
    """``path`` (absolute, on the target system) inside the staging directory ``destdir``."""
    return destdir / str(path).lstrip("/")


@dataclass(frozen=True)
class Layout:
    """Where things go on the target system."""

    prefix: str = "/usr/local"
    ocf_root: str = "/usr/lib/ocf"
    python: str = "/usr/bin/python3"

    @property
    def libdir(self) -> str:
        return f"{self.prefix}/lib/{NAME}"

    @property
    def agentdir(self) -> str:
        return f"{self.ocf_root}/resource.d/{NAME}"

    @property
    def bindir(self) -> str:
        return f"{self.prefix}/bin"

    @property
    def man1dir(self) -> str:
        return f"{self.prefix}/share/man/man1"

    @property
    def docdir(self) -> str:
        return f"{self.prefix}/share/doc/{NAME}"

    @property
    def sys_path(self) -> list[str]:
        return [self.libdir]


BASH = "#!/bin/bash"


def launcher_lines(lines: list[str], python: str, lib: str) -> list[str]:
    """An agent that bash runs first (its monitor fast path, then ``exec`` of Python on
    the same file): its ``python=`` and ``lib=`` lines set to the interpreter and the folder
    that holds lvsocf/."""
    wanted = {"python": python, "lib": lib}
    out = []
    for line in lines:
        name = line.partition("=")[0]
        if name in wanted:
            line = f"{name}={shlex.quote(wanted.pop(name))}"
        out.append(line)
    if wanted:
        raise BuildError(f"a bash agent without its {' and '.join(wanted)}= line")
    return out


def agent_text(source: str, layout: Layout) -> str:
    """An agent executable as installed: the first line runs ``layout.python`` (or bash,
    for an agent with a bash fast path, told where Python and the library are), and the
    library comes first on sys.path (inserted after the module docstring and any
    ``from __future__`` import, so both keep working)."""
    lines = source.split("\n")
    shebang = f"#!{layout.python}"
    if lines[0] == BASH:
        shebang = BASH
        lines = launcher_lines(lines, layout.python, layout.libdir)
    if lines[0].startswith("#!"):
        lines = lines[1:]
    tree = ast.parse("\n".join(lines))
    at = 0
    for i, node in enumerate(tree.body):
        docstring = (i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                     and isinstance(node.value.value, str))
        future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
        if not (docstring or future):
            break
        at = node.end_lineno or at
    header = [f"import sys  # {MARK}", f"sys.path[:0] = {layout.sys_path!r}  # {MARK}"]
    return "\n".join([shebang, *lines[:at], *header, *lines[at:]])


def command_text(name: str, entry: str, layout: Layout, sys_path: list[str] | None = None) -> str:
    module, _, attr = entry.partition(":")
    if not module or not attr:
        raise BuildError(f"[project.scripts] {name} = {entry!r}: expected 'module:function'")
    return f'''#!{layout.python}
"""{name}: the command of {NAME} ({MARK})."""
import sys

sys.path[:0] = {sys_path or layout.sys_path!r}
try:
    from {module} import {attr.split(".")[0]} as _entry
except ImportError as err:
    sys.stderr.write(f"{name}: {NAME} is not installed for this Python ({{err}})\\n")
    sys.exit(1)
sys.exit(_entry{"".join("." + a for a in attr.split(".")[1:])}())
'''


def man_page(destdir: Path, layout: Layout, name: str, entry: str, root: Path = ROOT) -> Path:
    """help2man's page for ``name``, from ``name --help`` run against the staged library."""
    if shutil.which("help2man") is None:
        raise BuildError("help2man is missing (apt-get install help2man / dnf install help2man)")
    out = _under(destdir, f"{layout.man1dir}/{name}.1")
    _mkdir(out.parent)
    staged = [str(_under(destdir, p)) for p in layout.sys_path]
    python = layout.python if Path(layout.python).exists() else sys.executable
    with tempfile.TemporaryDirectory(prefix="lvsocf-man-") as tmp:
        wrapper = Path(tmp) / name
        wrapper.write_text(command_text(name, entry, Layout(layout.prefix, layout.ocf_root,
                                                            python), staged))
        wrapper.chmod(0o755)
        include = root / "packaging" / f"{name}.h2m"
        argv = ["help2man", "--no-info", "--no-discard-stderr", "--section", "1",
                "--version-string", version(root), "--output", str(out)]
        if include.exists():
            argv += ["--include", str(include)]
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "COLUMNS": "80",
               "LC_ALL": "C.UTF-8", "SOURCE_DATE_EPOCH": str(source_date_epoch())}
        env.pop("PYTHONPATH", None)
        run([*argv, str(wrapper)], env=env)
    out.chmod(0o644)
    return out


def install(destdir: Path, layout: Layout, *, root: Path = ROOT) -> None:
    """Install everything under ``destdir`` (``/`` for a real install) as ``layout`` says."""
    v = version(root)
    lib = _under(destdir, layout.libdir)
    package = lib / NAME
    if package.exists():
        shutil.rmtree(package)
    for src in source_files(root / NAME):
        _copy(src, package / src.relative_to(root / NAME))
    for old in lib.glob(f"{NAME}-*.dist-info"):
        shutil.rmtree(old)
    meta = project(root)
    info = lib / f"{NAME}-{v}.dist-info"
    _write(info / "METADATA", "".join([
        "Metadata-Version: 2.1\n", f"Name: {NAME}\n", f"Version: {v}\n",
        f"Summary: {meta.get('description', '')}\n",
        f"License: {meta.get('license', {}).get('text', '')}\n",
        f"Requires-Python: {meta.get('requires-python', '')}\n",
        *(f"Requires-Dist: {d}\n" for d in meta.get("dependencies", ()))]))
    _write(info / "INSTALLER", "lvsocf-packaging\n")
    _write(info / "entry_points.txt", "[console_scripts]\n" + "".join(
        f"{k} = {e}\n" for k, e in scripts(root).items()))
    _mkdir(lib)

    agents = sorted(p for p in (root / "agents").iterdir()
                    if p.is_file() and not p.name.startswith(".")
                    and not p.name.endswith(IGNORED_SUFFIXES))
    if not agents:
        raise BuildError(f"no agents in {root / 'agents'}")
    agentdir = _under(destdir, layout.agentdir)
    for src in agents:
        _write(agentdir / src.name, agent_text(src.read_text(), layout), 0o755)
    names = {src.name for src in agents}
    for old in agentdir.iterdir():  # an agent an earlier install put there and is gone now
        if old.name not in names and old.is_file() and MARK in old.read_text(errors="replace"):
            old.unlink()

    for name, entry in scripts(root).items():
        _write(_under(destdir, f"{layout.bindir}/{name}"), command_text(name, entry, layout),
               0o755)
        man_page(destdir, layout, name, entry, root)

    docdir = _under(destdir, layout.docdir)
    for doc in DOCS:
        if (root / doc).is_file():
            _copy(root / doc, docdir / doc)
    examples = root / EXAMPLES
    if examples.is_dir():
        target = docdir / EXAMPLES
        if target.exists():
            shutil.rmtree(target)
        for src in source_files(examples):
            _copy(src, target / src.relative_to(examples))


def uninstall(destdir: Path, layout: Layout, *, root: Path = ROOT) -> list[Path]:
    """Remove what `install` put there (the library with any bytecode, agents, commands, man
    pages, docs); returns what was removed."""
    removed = []
    targets = [layout.libdir, layout.agentdir, layout.docdir]
    for name in scripts(root):
        targets += [f"{layout.bindir}/{name}", f"{layout.man1dir}/{name}.1",
                    f"{layout.man1dir}/{name}.1.gz"]
    for target in targets:
        path = _under(destdir, target)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            continue
        removed.append(path)
    return removed


# ---- .deb ------------------------------------------------------------------------------------

DEB_POSTINST = """#!/bin/bash
# Bytecode for the private library, by the Python that runs it (removed again by prerm).
set -euo pipefail
if [ "$1" = configure ]; then
    {python} -m compileall -q {libdir} >/dev/null 2>&1 || true
fi
"""
DEB_PRERM = """#!/bin/bash
# Remove the bytecode postinst or the agents (run as root) wrote; dpkg does not own it.
set -euo pipefail
case "$1" in
    remove|upgrade|deconfigure|failed-upgrade)
        find {libdir} -type d -name __pycache__ -prune -exec rm -rf {{}} + 2>/dev/null || true
        ;;
esac
"""
DEB_COPYRIGHT = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: lvsocf

Files: *
Copyright: {year} lvsocf developers
License: GPL-2+

License: GPL-2+
 This program is free software; you can redistribute it and/or modify it under the terms
 of the GNU General Public License as published by the Free Software Foundation; either
 version 2 of the License, or (at your option) any later version.
 .
 On Debian systems, the full text of the GNU General Public License version 2 can be
 found in the file /usr/share/common-licenses/GPL-2.
"""


def _gzip(path: Path) -> Path:
    out = path.with_name(path.name + ".gz")
    out.write_bytes(gzip.compress(path.read_bytes(), compresslevel=9, mtime=0))
    out.chmod(0o644)
    path.unlink()
    return out


def build_deb(out: Path, work: Path, *, root: Path = ROOT) -> Path:
    """lvsocf_V_all.deb in ``out``: `install` into a staging tree, then dpkg-deb --build.

    The same recipe as `make install`; the Debian specifics (gzipped man page and changelog,
    copyright, maintainer scripts, md5sums, control) are added here."""
    layout = Layout(prefix="/usr", python="/usr/bin/python3")
    v = version(root)
    debv = deb_version(v)
    stage = work / "root"
    if stage.exists():
        shutil.rmtree(stage)
    _mkdir(stage)
    install(stage, layout, root=root)
    for page in sorted(_under(stage, layout.prefix + "/share/man").rglob("*.[1-9]")):
        _gzip(page)
    docdir = _under(stage, layout.docdir)
    year = time.gmtime(source_date_epoch()).tm_year
    _write(docdir / "copyright", DEB_COPYRIGHT.format(year=year))
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(source_date_epoch()))
    changelog = docdir / "changelog.Debian"
    _write(changelog, f"{NAME} ({debv}) unstable; urgency=medium\n\n"
                      f"  * Package built from lvsocf {v} (packaging/pkg.py).\n\n"
                      f" -- {MAINTAINER}  {date}\n")
    _gzip(changelog)

    control_dir = stage / "DEBIAN"
    _mkdir(control_dir)
    files = sorted(p for p in stage.rglob("*") if p.is_file() and control_dir not in p.parents)
    sums = "".join(f"{hashlib.md5(p.read_bytes()).hexdigest()}  {p.relative_to(stage)}\n"
                   for p in files)
    size_kib = sum((p.stat().st_size + 1023) // 1024 for p in files) + sum(
        1 for p in stage.rglob("*") if p.is_dir())
    _write(control_dir / "control", "".join([
        f"Package: {NAME}\n", f"Version: {debv}\n", "Architecture: all\n",
        f"Maintainer: {MAINTAINER}\n", f"Installed-Size: {size_kib}\n",
        f"Depends: {DEB_DEPENDS}\n", f"Recommends: {DEB_RECOMMENDS}\n",
        f"Suggests: {DEB_SUGGESTS}\n", "Section: admin\n", "Priority: optional\n",
        f"Description: {SUMMARY}\n",
        "".join(f" {line}\n" for line in LONG_DESCRIPTION.splitlines())]))
    _write(control_dir / "md5sums", sums)
    scripts_env = {"python": Path(layout.python).name, "libdir": layout.libdir}
    _write(control_dir / "postinst", DEB_POSTINST.format(**scripts_env), 0o755)
    _write(control_dir / "prerm", DEB_PRERM.format(**scripts_env), 0o755)

    epoch = source_date_epoch()
    for path in stage.rglob("*"):
        os.utime(path, (epoch, epoch), follow_symlinks=False)
    _mkdir(out)
    deb = out / f"{NAME}_{debv.split(':')[-1]}_all.deb"
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(epoch)}
    run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(stage), str(deb)], env=env,
        quiet=True)
    return deb


# ---- .rpm ------------------------------------------------------------------------------------

def sdist(out: Path, *, root: Path = ROOT, extra: dict[str, bytes] | None = None) -> Path:
    """lvsocf-V.tar.gz: the files `install` reads and the packaging, under lvsocf-V/."""
    v = version(root)
    top = f"{NAME}-{v}"
    mtime = source_date_epoch()
    _mkdir(out)
    path = out / f"{top}.tar.gz"
    members: list[tuple[str, bytes, int]] = []
    for name in SDIST_TOP:
        if (root / name).exists():
            for f in source_files(root / name):
                mode = 0o755 if os.access(f, os.X_OK) else 0o644
                members.append((f"{top}/{f.relative_to(root)}", f.read_bytes(), mode))
    for rel, data in (extra or {}).items():
        members.append((f"{top}/{rel}", data, 0o644))
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=mtime,
                                                filename="") as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for arcname, data, mode in sorted(members):
            info = tarfile.TarInfo(arcname)
            info.size, info.mode, info.mtime = len(data), mode, mtime
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(data))
    return path


def spec_text(root: Path = ROOT) -> str:
    v = version(root)
    names = scripts(root)
    subs = {
        "VERSION": v,
        "RPM_VERSION": rpm_version(v),
        "RPM_RELEASE": REVISION,
        "SUMMARY": SUMMARY,
        "DESCRIPTION": "\n".join(line if line != "." else ""
                                 for line in LONG_DESCRIPTION.splitlines()),
        "COMMAND_FILES": "\n".join(f"%{{_bindir}}/{n}\n%{{_mandir}}/man1/{n}.1*" for n in names),
        "MAINTAINER": MAINTAINER,
        "CHANGELOG_DATE": time.strftime("%a %b %d %Y", time.gmtime(source_date_epoch())),
    }
    text = SPEC_TEMPLATE.read_text()
    for key, value in subs.items():
        text = text.replace(f"@{key}@", value)
    if left := re.findall(r"@[A-Z_]+@", text):
        raise BuildError(f"{SPEC_TEMPLATE}: unknown placeholders {sorted(set(left))}")
    return text


def build_rpm(out: Path, work: Path, *, root: Path = ROOT) -> list[Path]:
    """lvsocf-V-1.noarch.rpm and lvsocf-V-1.src.rpm in ``out``, by rpmbuild -ba from the
    generated spec and the source tarball (the spec is inside too: rpmbuild -ta works). Its
    %install runs this script's `install`."""
    if shutil.which("rpmbuild") is None:
        raise BuildError("rpmbuild is missing (apt-get install rpm / dnf install rpm-build)")
    work = work / "rpmbuild"
    if work.exists():
        shutil.rmtree(work)
    for d in ("SOURCES", "SPECS", "BUILD", "RPMS", "SRPMS", "BUILDROOT"):
        _mkdir(work / d)
    spec = spec_text(root)
    sdist(work / "SOURCES", root=root, extra={f"{NAME}.spec": spec.encode()})
    spec_path = work / "SPECS" / f"{NAME}.spec"
    spec_path.write_text(spec)
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(source_date_epoch())}
    # --nodeps: on a Debian build host the rpm database is empty, so BuildRequires can't be
    # checked; the packages they name are what scripts/setup installs.
    run(["rpmbuild", "-ba", "--nodeps", "--quiet", "--define", f"_topdir {work}",
         str(spec_path)], env=env, quiet=True)
    _mkdir(out)
    built = []
    for rpm in sorted((work / "RPMS").rglob("*.rpm")) + sorted((work / "SRPMS").glob("*.rpm")):
        shutil.copy2(rpm, out / rpm.name)
        built.append(out / rpm.name)
    return built


# ---- running programs ------------------------------------------------------------------------

def run(argv: list[str], *, env: dict[str, str] | None = None, quiet: bool = False) -> None:
    done = subprocess.run(argv, env=env, check=False, text=True,
                          capture_output=quiet, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        detail = f":\n{done.stdout}{done.stderr}" if quiet else ""
        raise BuildError(f"{argv[0]} failed with exit status {done.returncode}: "
                         f"{' '.join(argv)}{detail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pkg.py", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("version", help="print the version (PEP 440, or as in the packages)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--deb", action="store_true")
    g.add_argument("--rpm", action="store_true")
    u = sub.add_parser("uninstall", help="remove what install installed (make uninstall)")
    p = sub.add_parser("install", help="install (make install)")
    for q in (p, u):
        q.add_argument("--destdir", default="")
        q.add_argument("--prefix", default="/usr/local")
        q.add_argument("--ocf-root", default="/usr/lib/ocf")
        q.add_argument("--python", default="/usr/bin/python3",
                       help="the Python that runs the agents and the command (their #! line)")
    for q in (sub.add_parser("deb", help="build the .deb"),
              sub.add_parser("rpm", help="build the .rpm and .src.rpm")):
        q.add_argument("--out", default=str(ROOT / "dist"))
        q.add_argument("--work", default=None)
    args = parser.parse_args(argv)
    try:
        if args.cmd == "version":
            v = version()
            print(deb_version(v) if args.deb else rpm_version(v) if args.rpm else v)
        elif args.cmd in ("install", "uninstall"):
            layout = Layout(prefix=args.prefix.rstrip("/") or "/usr",
                            ocf_root=args.ocf_root.rstrip("/"), python=args.python)
            destdir = Path(args.destdir or "/")
            if args.cmd == "uninstall":
                for path in uninstall(destdir, layout):
                    print(f"removed {path}")
                return 0
            install(destdir, layout)
        else:
            work = Path(args.work or ROOT / "build" / args.cmd).resolve()
            out = Path(args.out).resolve()
            _mkdir(work)
            if args.cmd == "deb":
                print(build_deb(out, work))
            else:
                for path in build_rpm(out, work):
                    print(path)
    except BuildError as err:
        print(f"pkg.py: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
