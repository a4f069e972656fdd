"""PID 1 inside the lab VM: set up the root, run the job, reap orphans, power off.

Runs from the host's own Python through the read-only 9p root (see initramfs.py). The job
description is JSON written by lab.vm: argv, cwd, env. Output goes to ttyS1/ttyS2 raw,
the exit status to the shared job folder.
"""
from __future__ import annotations

import ctypes
import glob
import json
import os
import signal
import subprocess
import sys
import termios
import tty

JOB_DIR = "/lvsocf-job"
LINUX_REBOOT_CMD_POWER_OFF = 0x4321FEDC
MOUNTS = (
    ("proc", "/proc", "proc", ""),
    ("sysfs", "/sys", "sysfs", ""),
    ("tmpfs", "/run", "tmpfs", "mode=755"),
    ("tmpfs", "/dev/shm", "tmpfs", "mode=1777"),
    ("devpts", "/dev/pts", "devpts", "gid=5,mode=620,ptmxmode=666"),
    ("cgroup2", "/sys/fs/cgroup", "cgroup2", ""),
)


def _mount_all() -> None:
    for source, target, fstype, options in MOUNTS:
        os.makedirs(target, exist_ok=True)
        argv = ["/bin/mount", "-t", fstype, source, target]
        if options:
            argv[3:3] = ["-o", options]
        subprocess.run(argv, check=False)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        try:
            os.symlink(target, f"/dev/{name}")
        except FileExistsError:
            pass
    os.makedirs("/run/lock", exist_ok=True)
    os.makedirs("/var/run", exist_ok=True)


def _raw_serial(path: str) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_NOCTTY)
    tty.setraw(fd)
    attrs = termios.tcgetattr(fd)
    attrs[4] = attrs[5] = termios.B115200
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
    return fd


def _mount_shares(paths: list[str]) -> None:
    for index, path in enumerate(paths):
        os.makedirs(path, exist_ok=True)
        subprocess.run(["/bin/mount", "-t", "9p", "-o", "trans=virtio,version=9p2000.L",
                        f"share{index}", path], check=False)


def _python_path(pth: dict | None) -> None:
    """Folders every python3 of the guest imports from (a --root guest: the checkout and the
    lab's vendor folder), as a .pth file in the overlay: agents run with a clean
    environment, so PYTHONPATH would not reach them."""
    if pth:
        with open(pth["path"], "w") as fh:
            fh.write("".join(f"{line}\n" for line in pth["lines"]))


# .pth files this machine's sandbox puts into every Python (an HTTPS proxy's CA injected
# into certifi at each interpreter start: ~35 ms of every Python process natively, ~0.5 s
# in TCG). A director has none; keepalived never pays it. Gone from the guest's overlay.
HOST_ONLY_PTH = ("_sandboxing_egress_ca.pth",)


def _drop_host_only_pth() -> None:
    folders = ["/usr/lib/python3/dist-packages", *glob.glob("/usr/local/lib/python3*/*-packages")]
    for folder in folders:
        for name in HOST_ONLY_PTH:
            try:
                os.unlink(os.path.join(folder, name))
            except OSError:
                pass


def _run(job: dict) -> int:
    out = _raw_serial("/dev/ttyS1")
    err = _raw_serial("/dev/ttyS2")
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "HOME": "/root", "LANG": "C.UTF-8", "LVSOCF_IN_VM": "1"}
    env.update(job.get("env", {}))
    child = subprocess.Popen(job["argv"], cwd=job.get("cwd") or "/", env=env,
                             stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                             start_new_session=True)
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 125
        if pid == child.pid:
            return os.waitstatus_to_exitcode(status) % 256


def main() -> None:
    job_file = sys.argv[1]
    rc = 125
    try:
        _mount_all()
        with open(job_file) as fh:
            job = json.load(fh)
        _mount_shares(job.get("shares", []))
        _python_path(job.get("pth"))
        _drop_host_only_pth()
        rc = _run(job)
    except Exception as exc:  # PID 1 must never die with a traceback: the VM would hang
        print(f"lvsocf-vm guest: {exc!r} {getattr(exc, 'filename', '') or ''}",
              file=sys.stderr, flush=True)
    finally:
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        with open(os.path.join(JOB_DIR, "rc"), "w") as fh:
            fh.write(f"{rc}\n")
        os.sync()
        ctypes.CDLL(None, use_errno=True).reboot(LINUX_REBOOT_CMD_POWER_OFF)


if __name__ == "__main__":
    main()
