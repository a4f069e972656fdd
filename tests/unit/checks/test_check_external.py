"""external check: argv (no shell), environment, exit codes, process-group kill at timeout."""
from __future__ import annotations

import asyncio
import os
import shlex
import sys
import time

from lvsocf.checks import Target, build_checker

RS = Target("127.0.0.1", 8080)


def run(command, timeout=2.0, target=RS):
    checker = build_checker("external", target, {"external_command": command})
    return asyncio.run(checker.check(timeout))


def test_exit_zero_is_up():
    r = run("true")
    assert r.ok and r.detail == "true: exit 0"


def test_exit_codes_are_down():
    r = run("sh -c 'exit 3'")
    assert not r.ok and r.detail == "sh: exit 3"
    assert not run("false").ok


def test_killed_by_signal():
    r = run("sh -c 'kill -TERM $$'")
    assert not r.ok and r.detail == "sh: killed by signal 15"


def test_environment():
    script = ('test "$LVSOCF_RIP" = 127.0.0.1 && test "$LVSOCF_RPORT" = 8080 '
              '&& test "$LVSOCF_TIMEOUT" = 2')
    assert run(f"sh -c {shlex.quote(script)}").ok
    script = 'test "$LVSOCF_RIP" = ::1 && test -z "$LVSOCF_RPORT"'
    assert run(f"sh -c {shlex.quote(script)}", target=Target("::1", None)).ok


def test_no_shell_is_involved():
    # Through a shell $LVSOCF_RIP would expand to 127.0.0.1 and the words would differ.
    assert run("test \"$LVSOCF_RIP\" = '$LVSOCF_RIP'").ok
    r = run("true; false")              # ';' is just part of the word "true;"
    assert not r.ok and r.detail.startswith("true;: cannot run")


def test_missing_command():
    r = run("/nonexistent/check-thing --flag")
    assert not r.ok and r.detail == "check-thing: cannot run: No such file or directory"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_timeout_kills_the_whole_process_group(tmp_path):
    pidfile = tmp_path / "pids"
    script = f"sleep 30 & echo $! > {pidfile}; echo $$ >> {pidfile}; sleep 30"
    start = time.monotonic()
    r = run(f"sh -c {shlex.quote(script)}", timeout=0.5)
    assert time.monotonic() - start < 2
    assert not r.ok and r.detail == "sh: timed out after 0.5s, killed"
    pids = [int(p) for p in pidfile.read_text().split()]
    assert len(pids) == 2
    deadline = time.monotonic() + 2
    while any(map(_alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(map(_alive, pids)), "a process of the check survived the timeout"


def test_leftovers_are_killed_after_a_normal_exit(tmp_path):
    pidfile = tmp_path / "pid"
    r = run(f"sh -c {shlex.quote(f'sleep 30 & echo $! > {pidfile}')}")
    assert r.ok
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 2
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(pid)


def test_python_command_with_spaces_in_argument():
    code = "import os, sys; sys.exit(0 if os.environ['LVSOCF_RPORT'] == '8080' else 5)"
    assert run(f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}").ok


def test_concurrent_external_checks():
    async def main():
        c = build_checker("external", Target("127.0.0.1", 1), {"external_command": "true"})
        return await asyncio.gather(*(c.check(5) for _ in range(20)))
    assert all(r.ok for r in asyncio.run(main()))
    assert os.getpgrp() == os.getpgid(0)   # we were never moved into a check's group
