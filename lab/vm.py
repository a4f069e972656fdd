"""Run one command inside a throw-away VM that boots Debian's kernel (which has IPVS).

The host root is shared read-only over virtio-9p with a tmpfs overlay on top, so the guest
sees this checkout, its venv and every installed tool. With `--root DIR` (a cached root of
another distribution, lab.roots) the guest boots DIR's own kernel with DIR's modules
and runs on DIR instead, under the same kind of overlay, with this checkout shared read-only
(its own overlay) at its host path and on the root's python3 path, next to the root's
lvsocf-lab vendor folder (pyroute2); the command then runs with DIR's programs and
/usr/bin/python3, not the host's venv. No NIC: test traffic stays between
network namespaces inside the guest. The command's stdout/stderr are streamed back byte-exact
over two serial ports; its exit status comes back through a small read-write 9p share.
The VM dies with its caller (setpriv --pdeathsig) and at the timeout.

    python -m lab.vm [--memory MiB] [--timeout S] [--root DIR] -- CMD ARG...
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from lab import initramfs

GUEST = Path(__file__).with_name("guest.py")
CHECKOUT = Path(__file__).resolve().parents[1]
# inside a --root guest: pyroute2 of lab/vendor.txt, put there by lab.roots
ROOT_VENDOR = "/usr/local/lib/lvsocf-lab/vendor"
# and where the guest lists the checkout and ROOT_VENDOR for every python3 (guest.py)
PTH = "/usr/lib/python3/dist-packages/lvsocf-lab.pth"
KERNEL_ARGS = "console=ttyS0 loglevel=4 panic=-1 mitigations=off nokaslr tsc=reliable"


class VmError(RuntimeError):
    """The VM could not be started or did not report an exit status."""


def find_kernel(root: Path = Path("/")) -> tuple[Path, str]:
    """Newest ROOT/boot/vmlinuz-* whose modules include ip_vs."""
    for image in sorted((root / "boot").glob("vmlinuz-*"), reverse=True):
        release = image.name.removeprefix("vmlinuz-")
        if (root / "lib/modules" / release / "kernel/net/netfilter/ipvs").is_dir():
            return image, release
    raise VmError(f"no kernel with IPVS modules in {root / 'boot'}: "
                  "apt-get install linux-image-amd64")


def accelerator() -> list[str]:
    """KVM only where the CPU really virtualizes (a PVM /dev/kvm hangs a stock kernel)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        flags = ""
    if os.path.exists("/dev/kvm") and (" vmx" in flags or " svm" in flags):
        return ["-accel", "kvm", "-cpu", "host"]
    return ["-accel", "tcg,thread=multi", "-cpu", "max"]


def _pump(src: Path, dst) -> None:
    with src.open("rb", buffering=0) as fh:
        while chunk := fh.read(65536):
            dst.write(chunk)
            dst.flush()


def qemu_argv(kernel: Path, initrd: Path, jobdir: Path, memory: int, cpus: int,
              shares: Sequence[Path] = (), root: Path = Path("/"),
              checkout: Path | None = None) -> list[str]:
    extra = []
    if checkout is not None:
        extra += ["-fsdev", f"local,id=checkout,path={checkout},security_model=none,"
                            "readonly=on,multidevs=remap",
                  "-device", "virtio-9p-pci,fsdev=checkout,mount_tag=checkout"]
    for i, share in enumerate(shares):
        extra += ["-fsdev", f"local,id=share{i},path={share},security_model=none",
                  "-device", f"virtio-9p-pci,fsdev=share{i},mount_tag=share{i}"]
    return [
        "qemu-system-x86_64", *accelerator(),
        "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-nic", "none",
        "-m", str(memory), "-smp", str(cpus),
        "-kernel", str(kernel), "-initrd", str(initrd), "-append", KERNEL_ARGS,
        "-fsdev", f"local,id=hostroot,path={root},security_model=none,readonly=on,"
                  "multidevs=remap",
        "-device", "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot",
        "-fsdev", f"local,id=jobshare,path={jobdir},security_model=none",
        "-device", "virtio-9p-pci,fsdev=jobshare,mount_tag=jobshare",
        "-chardev", f"file,id=console,path={jobdir / 'console.log'}",
        "-chardev", f"pipe,id=out,path={jobdir / 'stdout'}",
        "-chardev", f"pipe,id=err,path={jobdir / 'stderr'}",
        "-serial", "chardev:console", "-serial", "chardev:out", "-serial", "chardev:err",
        *extra,
    ]


def run(argv: Sequence[str], *, cwd: str | None = None, env: Mapping[str, str] | None = None,
        memory: int = 2048, cpus: int = 2, timeout: float = 3600,
        keep_console: Path | None = None, shares: Sequence[Path] = (),
        root: Path | None = None) -> int:
    """Boot, run argv as root inside, stream its output to ours, return its exit status.
    `shares` are host folders the guest may write to, mounted at the same paths. `root`: boot
    that root (and its kernel) instead of the host's; see the module doc."""
    shares = [Path(p).resolve() for p in shares]
    root = Path(root).resolve() if root is not None else None
    kernel, release = find_kernel(root or Path("/"))
    workdir = Path(tempfile.mkdtemp(prefix="lvsocf-vm-"))
    try:
        jobdir = workdir / "job"
        jobdir.mkdir()
        initrd = initramfs.build(release, workdir, root=root or Path("/"))
        job = {"argv": list(argv), "cwd": cwd or os.getcwd(), "env": dict(env or {}),
               "shares": [str(p) for p in shares]}
        if root is None:
            # the guest's PATH is a plain system one: resolve the command with the caller's
            # PATH (an activated venv's `python` or `pytest`)
            job["argv"][0] = shutil.which(argv[0]) or argv[0]
            (jobdir / "python").write_text(sys.executable)
        else:
            (jobdir / "python").write_text("/usr/bin/python3")
            (jobdir / "checkout").write_text(str(CHECKOUT))
            job["pth"] = {"path": PTH, "lines": [str(CHECKOUT), ROOT_VENDOR]}
        (jobdir / "job.json").write_text(json.dumps(job))
        (jobdir / "guest").write_text(str(GUEST))
        for stream in ("stdout", "stderr"):
            for end in ("in", "out"):
                os.mkfifo(jobdir / f"{stream}.{end}")
        # pdeathsig on both links of the chain: if we die, timeout dies; if timeout dies
        # (or is killed), qemu dies. Without the second one qemu outlives a killed caller.
        argv_qemu = ["setpriv", "--pdeathsig", "KILL", "--",
                     "timeout", "--kill-after=5", str(int(timeout)),
                     "setpriv", "--pdeathsig", "KILL", "--",
                     *qemu_argv(kernel, initrd, jobdir, memory, cpus, shares,
                                root or Path("/"), CHECKOUT if root else None)]
        qemu = subprocess.Popen(argv_qemu, stdin=subprocess.DEVNULL)
        pumps = [threading.Thread(target=_pump, args=(jobdir / "stdout.out", sys.stdout.buffer),
                                  daemon=True),
                 threading.Thread(target=_pump, args=(jobdir / "stderr.out", sys.stderr.buffer),
                                  daemon=True)]
        for pump in pumps:
            pump.start()
        try:
            qemu_rc = qemu.wait()
        except BaseException:
            qemu.kill()
            qemu.wait()
            raise
        # qemu has exited, so the FIFOs have no writer left once we drop our read ends' peers.
        for stream in ("stdout", "stderr"):
            _close_writer(jobdir / f"{stream}.out")
        for pump in pumps:
            pump.join(timeout=5)
        if keep_console is not None:
            shutil.copyfile(jobdir / "console.log", keep_console)
        rc_file = jobdir / "rc"
        if not rc_file.exists():
            tail = (jobdir / "console.log").read_text(errors="replace")[-3000:]
            reason = "timed out" if qemu_rc == 124 else f"qemu exited {qemu_rc}"
            raise VmError(f"the VM gave no exit status ({reason}); console tail:\n{tail}")
        return int(rc_file.read_text().strip())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _close_writer(fifo: Path) -> None:
    """Open and close a write end so a reader blocked in open() or read() sees EOF."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return
    os.close(fd)


def main(args: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.vm", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memory", type=int, default=2048, help="guest memory in MiB")
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=3600,
                        help="seconds before the VM is killed")
    parser.add_argument("--console", type=Path, help="keep the kernel console log here")
    parser.add_argument("--share", type=Path, action="append", default=[],
                        help="a host folder the guest may write to (same path inside)")
    parser.add_argument("--root", type=Path,
                        help="boot this root and its kernel (python -m lab.roots)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    opts = parser.parse_args(args)
    command = opts.command[1:] if opts.command[:1] == ["--"] else opts.command
    if not command:
        parser.error("no command given")
    try:
        return run(command, memory=opts.memory, cpus=opts.cpus, timeout=opts.timeout,
                   keep_console=opts.console, shares=opts.share, root=opts.root)
    except VmError as exc:
        print(f"lab.vm: {exc}", file=sys.stderr)
        return 125


if __name__ == "__main__":
    sys.exit(main())
