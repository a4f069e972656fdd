"""The product as users install it, inside the lab VM: the .deb installed with dpkg, or the
.rpm's payload unpacked with rpm2cpio and its scriptlets run, on the VM's throw-away overlay
root (the host's root stays untouched). Used by tests/installed and `make demo-installed`.

Nothing here runs the product: it only installs and removes it. Every command runs with a
clean environment (no PYTHONPATH, no venv on PATH), as a package manager would.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

PROVIDER_DIR = Path("/usr/lib/ocf/resource.d/lvsocf")
CLEAN = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root",
         "DEBIAN_FRONTEND": "noninteractive"}
# The installed layout (packaging/pkg.py, PREFIX=/usr): where an installed process may load
# Python modules from, besides the interpreter's standard library and Debian's packages.
LIBDIR = "/usr/lib/lvsocf"


class ProductError(RuntimeError):
    pass


def run(argv: list[str], **kw) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, env=CLEAN, capture_output=True, text=True, check=False,
                          stdin=subprocess.DEVNULL, **kw)
    if done.returncode != 0:
        raise ProductError(f"{' '.join(argv)} exited {done.returncode}: "
                           f"{(done.stdout + done.stderr)[-2000:]}")
    return done


def _require_vm() -> None:
    if os.environ.get("LVSOCF_IN_VM") != "1":
        raise ProductError("install the package only inside the lab VM (its root is a "
                           "throw-away overlay)")


def _clear_lab_agents() -> None:
    """The lab's copies of the checkout's agents (lab.install), if the host left any
    in the shared root: the package must bring its own."""
    if PROVIDER_DIR.exists() and subprocess.run(
            ["dpkg", "-S", str(PROVIDER_DIR)], capture_output=True, env=CLEAN).returncode:
        shutil.rmtree(PROVIDER_DIR)


def install_deb(deb: Path) -> None:
    """dpkg -i, dependencies taken from the VM's root (the host's installed packages)."""
    _require_vm()
    _clear_lab_agents()
    run(["dpkg", "-i", str(deb)], timeout=600)


def purge_deb() -> None:
    if subprocess.run(["dpkg-query", "-W", "lvsocf"], capture_output=True,
                      env=CLEAN).returncode == 0:
        run(["dpkg", "--purge", "lvsocf"], timeout=600)


def rpm_scriptlets(rpm: Path) -> dict[str, tuple[str, str]]:
    """{'postinstall': (interpreter, body), ...} as `rpm -qp --scripts` lists them."""
    text = run(["rpm", "-qp", "--scripts", str(rpm)]).stdout
    found: dict[str, tuple[str, str]] = {}
    parts = re.split(r"^(\w+) scriptlet \(using ([^)]+)\):\n", text, flags=re.M)
    for i in range(1, len(parts) - 2, 3):
        found[parts[i]] = (parts[i + 1], parts[i + 2])
    return found


def rpm_files(rpm: Path) -> list[str]:
    return run(["rpm", "-qpl", str(rpm)]).stdout.split()


def _scriptlet(rpm: Path, which: str, arg: str) -> None:
    script = rpm_scriptlets(rpm).get(which)
    if script is not None:
        interpreter, body = script
        run([interpreter, "-c", body, which, arg], timeout=600)


def install_rpm(rpm: Path) -> None:
    """What `rpm -i` does on a Debian root that has no rpm database: unpack the payload at /
    (rpm2cpio | cpio), then run %post with $1 = 1."""
    _require_vm()
    _clear_lab_agents()
    purge_deb()
    with subprocess.Popen(["rpm2cpio", str(rpm)], stdout=subprocess.PIPE, env=CLEAN) as payload:
        unpack = subprocess.run(["cpio", "-idmu", "--quiet", "--no-absolute-filenames"],
                                stdin=payload.stdout, cwd="/", env=CLEAN, capture_output=True,
                                text=True, check=False)
    if payload.returncode or unpack.returncode:
        raise ProductError(f"rpm2cpio | cpio failed: {unpack.stderr[-2000:]}")
    _scriptlet(rpm, "postinstall", "1")


def remove_rpm(rpm: Path) -> None:
    """%preun with $1 = 0, then every file and (emptied) folder of the payload."""
    _scriptlet(rpm, "preuninstall", "0")
    for name in sorted(rpm_files(rpm), key=len, reverse=True):
        path = Path(name)
        if path.is_file() or path.is_symlink():
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
