"""Cached Debian roots for the lab VM: a debootstrapped distribution with its own kernel.

`python -m lab.roots SUITE` prints the path of a root for SUITE (trixie: Debian 13),
building it first if the cache has none: debootstrap (minbase) from Debian's archive, then
`apt-get install --no-install-recommends` of PACKAGES[SUITE] inside it, then
the pinned pyroute2 wheel of lab/vendor.txt unpacked into lab.vm.ROOT_VENDOR
(the suite's own python3-pyroute2 is older than lvsocf needs). The root lives in
/var/cache/lvsocf/roots/SUITE-HASH, HASH covering RECIPE, the suite, the mirror, the package
list and vendor.txt, so a changed list builds a new root and an unchanged one is never built twice.
`python -m lab.vm --root DIR` boots it (the kernel in DIR/boot, DIR's modules);
`python -m lab.roots SUITE --chroot -- CMD...` runs CMD in it on the host's kernel.

A build is written to a .partial folder and renamed when complete; a failed one leaves
nothing the cache would take for a root. Every command is an argv list.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lab.vm import CHECKOUT, PTH, ROOT_VENDOR, VmError, find_kernel

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("LVSOCF_ROOTS", "/var/cache/lvsocf/roots"))
MIRROR = "http://deb.debian.org/debian"
# The pinned pyroute2 of the root's tests (its suite's python3-pyroute2 is too old). Its text is
# part of the cache key: keep the file byte for byte (header comment included), or the next
# `make test-debian13` builds a new root.
VENDOR_TXT = REPO / "lab" / "vendor.txt"
STAMP = "etc/lvsocf-root.json"                  # inside the root: what was built, and when
RECIPE = 1          # bump when build() changes what a root contains
PACKAGES = {
    "trixie": (
        "linux-image-amd64", "kmod", "busybox-static", "iproute2", "ipvsadm", "procps",
        "util-linux", "strace",
        "pacemaker", "pacemaker-cli-utils", "corosync", "pcs", "crmsh", "resource-agents",
        "libxml2-utils", "keepalived", "ldirectord", "fence-agents-dummy",
        "fence-agents-ipmilan",
        "python3", "python3-lxml", "python3-requests", "python3-pytest", "python3-hypothesis",
    ),
}
CHROOT_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root",
              "DEBIAN_FRONTEND": "noninteractive",
              # the lab VM boots with lvsocf's own initramfs: skip update-initramfs
              "INITRD": "No"}
# No daemon starts while packages are installed (in the chroot or later in the VM).
POLICY_RC_D = "#!/bin/sh\nexit 101\n"


class RootError(RuntimeError):
    pass


def key(suite: str, packages: tuple[str, ...] | None = None) -> str:
    packages = PACKAGES[suite] if packages is None else packages
    blob = json.dumps([RECIPE, suite, MIRROR, sorted(packages), VENDOR_TXT.read_text()])
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def root_path(suite: str = "trixie") -> Path:
    return CACHE / f"{suite}-{key(suite)}"


def is_built(root: Path) -> bool:
    return (root / STAMP).is_file()


def _run(argv: list[str], **kw) -> None:
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          check=False, **kw)
    if done.returncode:
        raise RootError(f"{' '.join(argv)} exited {done.returncode}:\n"
                        f"{(done.stdout + done.stderr)[-3000:]}")


def _chroot(root: Path, *argv: str) -> None:
    _run(["chroot", str(root), *argv], env=CHROOT_ENV, timeout=3600)


def _install_vendor(root: Path, work: Path) -> None:
    """The wheels pinned in VENDOR_TXT, downloaded hash-checked, unpacked with pip --target:
    pure Python, so the host's pip serves the root's interpreter."""
    wheels = work / "wheels"
    _run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
          "--no-deps", "--only-binary=:all:", "--require-hashes", "-r", str(VENDOR_TXT),
          "-d", str(wheels)], timeout=600)
    target = root / ROOT_VENDOR.lstrip("/")
    _run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
          "--no-index", "--no-deps", "--no-compile", "--target", str(target),
          *map(str, sorted(wheels.glob("*.whl")))],
         env={**os.environ, "PIP_ROOT_USER_ACTION": "ignore"}, timeout=600)


def build(suite: str = "trixie", log=print) -> Path:
    """The cached root of suite, built if missing. Returns its path."""
    root = root_path(suite)
    if is_built(root):
        return root
    if os.geteuid() != 0:
        raise RootError("building a root needs root (debootstrap, chroot)")
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = root.with_name(root.name + ".partial")
    _remove(partial)
    started = time.monotonic()
    log(f"lvsocf roots: building {root} (debootstrap {suite}, {len(PACKAGES[suite])} packages)")
    _run(["debootstrap", "--variant=minbase", suite, str(partial), MIRROR], timeout=3600)
    policy = partial / "usr/sbin/policy-rc.d"
    policy.write_text(POLICY_RC_D)
    policy.chmod(0o755)
    proc = partial / "proc"
    _run(["mount", "-t", "proc", "proc", str(proc)])
    try:
        _chroot(partial, "apt-get", "update", "-qq")
        _chroot(partial, "apt-get", "install", "-y", "-qq", "--no-install-recommends",
                *PACKAGES[suite])
        _chroot(partial, "apt-get", "clean")
    finally:
        _run(["umount", "-l", str(proc)])
    shutil.rmtree(partial / "var/lib/apt/lists", ignore_errors=True)
    (partial / "var/lib/apt/lists/partial").mkdir(parents=True)
    _install_vendor(partial, CACHE / f"{root.name}.work")
    shutil.rmtree(CACHE / f"{root.name}.work", ignore_errors=True)
    try:
        find_kernel(partial)    # fail now, not at boot, if the kernel is missing
    except VmError as exc:
        raise RootError(str(exc)) from None
    seconds = round(time.monotonic() - started)
    (partial / STAMP).write_text(json.dumps({
        "suite": suite, "mirror": MIRROR, "packages": list(PACKAGES[suite]),
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "build_seconds": seconds,
    }, indent=1) + "\n")
    partial.rename(root)
    log(f"lvsocf roots: built {root} in {seconds} s, {size_mib(root)} MiB")
    return root


def _remove(path: Path) -> None:
    if path.exists():
        if os.path.ismount(path / "proc"):
            _run(["umount", "-l", str(path / "proc")])
        shutil.rmtree(path)


def size_mib(root: Path) -> int:
    out = subprocess.run(["du", "-sxm", str(root)], capture_output=True, text=True,
                         check=False).stdout
    return int(out.split()[0]) if out else -1


CLEAN_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "HOME": "/root", "LANG": "C.UTF-8"}


def run_chroot(root: Path, argv: list[str], cwd: str | None = None) -> int:
    """Run argv in root without booting it (its programs on the host's kernel: enough for
    Pacemaker's and pcs's offline tools, not for IPVS), as the VM runs a --root guest: root
    under a throw-away tmpfs overlay, this checkout at its path under its own overlay and on
    python3's path with ROOT_VENDOR, a clean environment. Everything is mounted in a private
    mount namespace (unshare), so nothing is left mounted when argv ends."""
    work = Path(tempfile.mkdtemp(prefix="lvsocf-chroot-"))
    try:
        return subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "--",
             sys.executable, "-m", "lab.roots", "_enter", str(root.resolve()), str(work),
             cwd or os.getcwd(), "--", *argv], cwd=CHECKOUT, check=False).returncode
    finally:
        work.rmdir()


def _enter(root: Path, work: Path, cwd: str, argv: list[str]) -> None:
    """The inside of run_chroot, in its new mount namespace: mount, chroot, exec."""
    _run(["mount", "-t", "tmpfs", "-o", "mode=755", "lvsocf-chroot", str(work)])
    merged = work / "root"
    for name in ("rw", "work", "co-rw", "co-work", "root"):
        (work / name).mkdir()
    _run(["mount", "-t", "overlay", "-o", f"lowerdir={root},upperdir={work / 'rw'},"
          f"workdir={work / 'work'}", "overlay", str(merged)])
    checkout = merged / str(CHECKOUT).lstrip("/")
    checkout.mkdir(parents=True, exist_ok=True)
    _run(["mount", "-t", "overlay", "-o", f"lowerdir={CHECKOUT},upperdir={work / 'co-rw'},"
          f"workdir={work / 'co-work'}", "overlay", str(checkout)])
    _run(["mount", "-t", "proc", "proc", str(merged / "proc")])
    _run(["mount", "--rbind", "/dev", str(merged / "dev")])
    _run(["mount", "--rbind", "/sys", str(merged / "sys")])
    _run(["mount", "-t", "tmpfs", "-o", "mode=755", "run", str(merged / "run")])
    (merged / PTH.lstrip("/")).write_text(f"{CHECKOUT}\n{ROOT_VENDOR}\n")
    os.chroot(merged)
    os.chdir(cwd)
    os.execvpe(argv[0], argv, CLEAN_ENV)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_enter"]:
        _enter(Path(argv[1]), Path(argv[2]), argv[3], argv[5:])
    parser = argparse.ArgumentParser(prog="python -m lab.roots", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suite", choices=sorted(PACKAGES))
    parser.add_argument("--info", action="store_true",
                        help="print the cached root's build record and size instead")
    parser.add_argument("--chroot", action="store_true",
                        help="run the command after -- in the root (see run_chroot)")
    split = argv.index("--") if "--" in argv else len(argv)
    opts = parser.parse_args(argv[:split])
    command = argv[split + 1:]
    if bool(command) != opts.chroot:
        parser.error("--chroot and a command after -- go together")
    try:
        root = build(opts.suite, log=lambda m: print(m, file=sys.stderr, flush=True))
    except RootError as exc:
        print(f"lvsocf roots: {exc}", file=sys.stderr)
        return 1
    if opts.chroot:
        return run_chroot(root, command)
    if opts.info:
        record = json.loads((root / STAMP).read_text())
        record.update(path=str(root), size_mib=size_mib(root))
        print(json.dumps(record, indent=1))
    else:
        print(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
