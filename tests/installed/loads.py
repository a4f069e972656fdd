"""The guard: which files the product's processes load, read with strace (an independent
reader: it sees every successful open and exec of every traced process, whatever Python
thinks its sys.path is)."""
from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

# Where an installed process may load code from: the package's own folders, the distribution
# interpreter's own path (standard library, Debian's packages, site hooks of this machine)
# and shared libraries. lvsocf must come from the package's folders alone, and pyroute2 (not
# shipped) from nowhere.
INSTALLED = ("/usr/lib/lvsocf/", "/usr/lib/ocf/resource.d/lvsocf/", "/usr/lib/ocf/lib/heartbeat/")
LIBRARIES = ("/usr/lib/x86_64-linux-gnu/", "/lib/x86_64-linux-gnu/", "/etc/ld.so.cache")
# and shared objects in ld.so's own folders: Debian 13's cluster-glue libraries (libpils,
# libplumb, which Pacemaker 3.0's tools load) are in /usr/lib, not the multiarch folder
LIBRARY_DIRS = ("/lib", "/usr/lib")
PRIVATE = re.compile(r"/(lvsocf|pyroute2)(/|\.py)")
PROGRAMS = ("/usr/bin/", "/usr/sbin/", "/bin/", "/sbin/", "/usr/lib/ocf/resource.d/lvsocf/")


def distribution_path(python: str = "/usr/bin/python3") -> tuple[str, ...]:
    """The folders on the distribution interpreter's default sys.path (clean environment)."""
    done = subprocess.run([python, "-c", "import sys; print('\\n'.join(sys.path))"],
                          env={"PATH": "/usr/bin:/bin"}, cwd="/", capture_output=True,
                          text=True, check=True)
    return tuple(p.rstrip("/") + "/" for p in done.stdout.splitlines() if p.startswith("/"))


CODE = re.compile(r"\.(py|pyc|so|pth)$|\.so\.[\d.]+$")
SHARED = re.compile(r"\.so(\.[\d.]+)?$")
LINE = re.compile(r'^(\d+) +(openat|execve)\((?:AT_FDCWD, )?"([^"]+)"')


@dataclass
class Loads:
    """Files each traced process opened as code, and every program it executed."""
    code: dict[int, list[str]] = field(default_factory=dict)
    execs: dict[int, list[str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Loads:
        loads = cls()
        for line in text.splitlines():
            m = LINE.match(line)
            if not m or "= -1 " in line:
                continue
            pid, call, path = int(m[1]), m[2], m[3]
            if call == "execve":
                loads.execs.setdefault(pid, []).append(path)
            elif CODE.search(path):
                loads.code.setdefault(pid, []).append(path)
        return loads

    def foreign(self, allowed: tuple[str, ...]) -> list[str]:
        """Code opened from outside ``allowed`` (plus the package and shared libraries),
        lvsocf or pyroute2 from anywhere but the package, and programs other than the
        distribution's (a venv or pyenv python would show here)."""
        ok = INSTALLED + LIBRARIES + allowed
        bad = [f"{pid} loaded {p}" for pid, paths in self.code.items() for p in paths
               if not (p.startswith(ok) or (SHARED.search(p) and p.rpartition("/")[0]
                                            in LIBRARY_DIRS))
               or (PRIVATE.search(p) and not p.startswith(INSTALLED))]
        bad += [f"{pid} ran {p}" for pid, paths in self.execs.items() for p in paths
                if not p.startswith(PROGRAMS)]
        return bad

    def pythons(self) -> set[int]:
        """Processes that ran Python code."""
        return {pid for pid, paths in self.code.items() if any(p.endswith((".py", ".pyc"))
                                                               for p in paths)}

    def loaded(self, fragment: str) -> set[int]:
        return {pid for pid, paths in self.code.items() if any(fragment in p for p in paths)}


class Traced:
    """argv run under `strace -f`; detach() stops tracing (daemons it started live on)."""

    def __init__(self, argv: Sequence[str], log: Path, **kw) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            ["strace", "-f", "--seccomp-bpf", "-q", "-e", "trace=openat,execve",
             "-e", "status=successful", "-s", "512", "-o", str(log), "--", *argv], **kw)
        self.top: int | None = None

    def top_exited(self) -> bool:
        text = self.log.read_text() if self.log.exists() else ""
        if self.top is None and text:
            self.top = int(text.split(None, 1)[0])
        return self.top is not None and re.search(rf"^{self.top} +\+\+\+ exited with",
                                                  text, re.M) is not None

    def wait_top(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.top_exited() and self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.detach()
                tail = "\n".join(self.log.read_text().splitlines()[-30:])
                raise TimeoutError(f"the traced command did not end; strace's last lines:\n"
                                   f"{tail}")
            time.sleep(0.2)

    def detach(self) -> Loads:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)   # strace detaches from every tracee
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()                   # the kernel detaches what it traced
                self.proc.wait()
        return Loads.parse(self.log.read_text())
