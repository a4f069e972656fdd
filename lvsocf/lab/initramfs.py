"""Build the tiny initramfs that mounts the host root read-only under a tmpfs overlay.

The initramfs holds static busybox, the few modules needed to reach the host root over
virtio-9p, and an /init that switch_roots (not chroot: with PID 1 left in the initramfs,
kernel module autoloading fails) into the overlay and execs the guest side of the runner.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

BOOT_MODULES = ("virtio_pci", "9pnet_virtio", "9p", "overlay")

INIT_SCRIPT = """#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /newroot /lower /upper
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
for m in $(/bin/busybox cat /modules.order); do /bin/busybox insmod "/modules/$m"; done
/bin/busybox mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 \\
  hostroot /lower \\
  || { echo "lvsocf-vm: cannot mount host root" >/dev/ttyS0; /bin/busybox poweroff -f; }
/bin/busybox mount -t tmpfs -o size=75% upper /upper
/bin/busybox mkdir -p /upper/rw /upper/work
/bin/busybox mount -t overlay \\
  -o lowerdir=/lower,upperdir=/upper/rw,workdir=/upper/work overlay /newroot
/bin/busybox mkdir -p /newroot/lvsocf-job
/bin/busybox mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 \\
  jobshare /newroot/lvsocf-job
/bin/busybox umount /proc /sys
/bin/busybox mount --move /dev /newroot/dev
exec /bin/busybox switch_root /newroot "$(/bin/busybox cat /newroot/lvsocf-job/python)" \\
  "$(/bin/busybox cat /newroot/lvsocf-job/guest)" /lvsocf-job/job.json
"""


def module_paths(kernel_release: str) -> list[Path]:
    """The .ko files the boot modules need, dependencies first, each once."""
    seen: list[Path] = []
    for module in BOOT_MODULES:
        out = subprocess.run(
            ["modprobe", "-S", kernel_release, "--show-depends", module],
            check=True, capture_output=True, text=True,
        ).stdout
        for line in out.splitlines():
            parts = line.split()
            if parts and parts[0] == "insmod":
                path = Path(parts[1])
                if path not in seen:
                    seen.append(path)
    return seen


def build(kernel_release: str, workdir: Path, busybox: Path = Path("/bin/busybox")) -> Path:
    """Write workdir/initramfs.cpio and return its path."""
    root = workdir / "initramfs"
    (root / "bin").mkdir(parents=True)
    (root / "modules").mkdir()
    (root / "bin" / "busybox").write_bytes(busybox.read_bytes())
    (root / "bin" / "busybox").chmod(0o755)
    order = []
    for path in module_paths(kernel_release):
        (root / "modules" / path.name).write_bytes(path.read_bytes())
        order.append(path.name)
    (root / "modules.order").write_text("\n".join(order) + "\n")
    init = root / "init"
    init.write_text(INIT_SCRIPT)
    init.chmod(0o755)
    names = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    image = workdir / "initramfs.cpio"
    with image.open("wb") as out:
        subprocess.run(
            ["cpio", "--quiet", "-o", "-H", "newc"],
            input="\n".join(names).encode(), stdout=out, cwd=root, check=True,
        )
    return image
