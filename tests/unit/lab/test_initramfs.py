"""The lab VM's initramfs reads the boot modules from a root's modules.dep: the host's
(checked against modprobe) or another distribution's, whose modules may be compressed."""
from __future__ import annotations

import lzma
import subprocess
from pathlib import Path

from lab import initramfs, roots
from lab.vm import find_kernel


def modprobe_order(release: str) -> list[Path]:
    seen: list[Path] = []
    for module in initramfs.BOOT_MODULES:
        out = subprocess.run(["modprobe", "-S", release, "--show-depends", module],
                             check=True, capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("insmod ") and Path(line.split()[1]) not in seen:
                seen.append(Path(line.split()[1]))
    return seen


def test_host_modules_in_modprobes_order():
    _, release = find_kernel()
    assert initramfs.module_paths(release) == modprobe_order(release)


def test_compressed_modules_from_another_root(tmp_path):
    """A root whose modules are .ko.xz (Debian 13) and whose virtio_pci is built in."""
    _, release = find_kernel()
    host = Path("/lib/modules") / release
    moddir = tmp_path / "lib" / "modules" / "9.9.9"
    lines, originals = [], {}
    for path in modprobe_order(release):
        if path.stem.startswith("virtio_pci"):
            continue
        rel = path.relative_to(host)
        target = moddir / f"{rel}.xz"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(lzma.compress(path.read_bytes()))
        originals[path.stem] = path.read_bytes()
        deps = [d for d in (host / "modules.dep").read_text().split("\n")
                if d.startswith(f"{rel}:")][0].split(":")[1].split()
        lines.append(f"{rel}.xz: " + " ".join(f"{d}.xz" for d in deps if "virtio_pci" not in d))
    (moddir / "modules.dep").write_text("\n".join(lines) + "\n")
    (moddir / "modules.builtin").write_text("kernel/drivers/virtio/virtio_pci.ko\n")
    found = initramfs.module_paths("9.9.9", tmp_path)
    assert [p.name.removesuffix(".ko.xz") for p in found] == [
        p.stem for p in modprobe_order(release) if not p.stem.startswith("virtio_pci")]
    image = initramfs.build("9.9.9", tmp_path / "work", root=tmp_path)
    listing = subprocess.run(["cpio", "-it", "--quiet"], stdin=image.open("rb"),
                             capture_output=True, text=True, check=True).stdout.split()
    assert f"modules/{found[-1].name.removesuffix('.xz')}" in listing
    built = tmp_path / "work" / "initramfs" / "modules"
    for name, data in originals.items():
        assert (built / f"{name.replace('-', '_')}.ko").read_bytes() == data


def test_root_cache_key_follows_the_package_list():
    base = roots.key("trixie")
    assert base == roots.key("trixie", tuple(reversed(roots.PACKAGES["trixie"])))
    assert base != roots.key("trixie", (*roots.PACKAGES["trixie"], "curl"))
    assert roots.root_path("trixie").name == f"trixie-{base}"
