"""lab.cpu on this host: a process that burns CPU inside the window shows under its command
name, in its mount namespace's total."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from lab.cpu import Meter

BURN = 0.6      # CPU seconds


def test_a_busy_child_is_counted_under_its_command(tmp_path):
    burner = tmp_path / "lvsocf-burner"      # its command name in /proc/PID/stat
    burner.symlink_to(os.path.realpath(sys.executable))
    meter = Meter({"here": os.readlink("/proc/self/ns/mnt")})
    began = time.monotonic()
    meter.start()
    busy = subprocess.Popen([str(burner), "-c", (
        f"import time\nend = time.process_time() + {BURN}\n"
        "while time.process_time() < end:\n    pass\nprint('done', flush=True)\n"
        "import sys; sys.stdin.read()")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert busy.stdout.readline().strip() == "done"    # alive at stop(): its own ticks
        by_command = meter.stop_by_command()["here"]
        elapsed = time.monotonic() - began
    finally:
        busy.communicate("")
    seconds = by_command.get("lvsocf-burner", 0) * elapsed
    assert BURN * 0.8 <= seconds <= elapsed + 0.1, by_command
