"""Build the tiny initramfs that mounts the VM's root (the host's, or a cached one of another
distribution, lab.roots) read-only under a tmpfs overlay.

The initramfs holds static busybox, the few modules needed to reach the host root over
virtio-9p, and an /init that switch_roots (not chroot: with PID 1 left in the initramfs,
kernel module autoloading fails) into the overlay and execs the guest side of the runner.
"""
from __future__ import annotations

import gzip
import lzma
import subprocess
from pathlib import Path

BOOT_MODULES = ("virtio_pci", "9pnet_virtio", "9p", "overlay")
MODULE_SUFFIXES = (".ko.xz", ".ko.zst", ".ko.gz", ".ko")

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
# another distribution's root: the checkout at its host path, read-only under its own overlay
if [ -s /newroot/lvsocf-job/checkout ]; then
  co="/newroot$(/bin/busybox cat /newroot/lvsocf-job/checkout)"
  /bin/busybox mkdir -p /checkout /upper/co-rw /upper/co-work "$co"
  /bin/busybox mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 \\
    checkout /checkout \\
    || { echo "lvsocf-vm: cannot mount the checkout" >/dev/ttyS0; /bin/busybox poweroff -f; }
  /bin/busybox mount -t overlay \\
    -o lowerdir=/checkout,upperdir=/upper/co-rw,workdir=/upper/co-work overlay "$co"
fi
/bin/busybox umount /proc /sys
/bin/busybox mount --move /dev /newroot/dev
exec /bin/busybox switch_root /newroot "$(/bin/busybox cat /newroot/lvsocf-job/python)" \\
  "$(/bin/busybox cat /newroot/lvsocf-job/guest)" /lvsocf-job/job.json
"""


def _module_name(path: str) -> str:
    name = Path(path).name
    for suffix in MODULE_SUFFIXES:
        if name.endswith(suffix):
            name = name[:-len(suffix)]
            break
    return name.replace("-", "_")


def module_paths(kernel_release: str, root: Path = Path("/")) -> list[Path]:
    """The module files the boot modules need in root's modules of kernel_release,
    dependencies first, each once; built-in ones are skipped. Read from modules.dep (each
    line lists a module's dependencies, all of them), so the host's modprobe never has to
    understand another distribution's index."""
    moddir = root / "lib" / "modules" / kernel_release
    deps: dict[str, tuple[str, list[str]]] = {}
    for line in (moddir / "modules.dep").read_text().splitlines():
        target, _, needs = line.partition(":")
        deps[_module_name(target)] = (target, needs.split())
    builtin_file = moddir / "modules.builtin"
    builtin = ({_module_name(x) for x in builtin_file.read_text().split()}
               if builtin_file.exists() else set())
    seen: list[Path] = []

    def add(name: str) -> None:
        if name not in deps:
            if name in builtin:
                return
            raise FileNotFoundError(f"module {name} not in {moddir}/modules.dep")
        target, needs = deps[name]
        for dep in reversed(needs):     # listed users first: load the last one first
            add(_module_name(dep))
        path = moddir / target
        if path not in seen:
            seen.append(path)

    for module in BOOT_MODULES:
        add(module.replace("-", "_"))
    return seen


def _module_bytes(path: Path) -> bytes:
    """A module file's contents, decompressed (busybox insmod takes plain .ko files)."""
    data = path.read_bytes()
    if path.name.endswith(".xz"):
        return lzma.decompress(data)
    if path.name.endswith(".gz"):
        return gzip.decompress(data)
    if path.name.endswith(".zst"):
        return subprocess.run(["zstd", "-dcq"], input=data, capture_output=True,
                              check=True).stdout
    return data


def build(kernel_release: str, workdir: Path, busybox: Path = Path("/bin/busybox"),
          root: Path = Path("/")) -> Path:
    """Write workdir/initramfs.cpio (modules from root's /lib/modules) and return its path."""
    tree = workdir / "initramfs"
    (tree / "bin").mkdir(parents=True)
    (tree / "modules").mkdir()
    (tree / "bin" / "busybox").write_bytes(busybox.read_bytes())
    (tree / "bin" / "busybox").chmod(0o755)
    order = []
    for path in module_paths(kernel_release, root):
        name = _module_name(path.name) + ".ko"
        (tree / "modules" / name).write_bytes(_module_bytes(path))
        order.append(name)
    (tree / "modules.order").write_text("\n".join(order) + "\n")
    init = tree / "init"
    init.write_text(INIT_SCRIPT)
    init.chmod(0o755)
    names = sorted(str(p.relative_to(tree)) for p in tree.rglob("*"))
    image = workdir / "initramfs.cpio"
    with image.open("wb") as out:
        subprocess.run(
            ["cpio", "--quiet", "-o", "-H", "newc"],
            input="\n".join(names).encode(), stdout=out, cwd=tree, check=True,
        )
    return image
