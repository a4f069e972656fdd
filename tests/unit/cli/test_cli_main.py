"""The `lvsocf` command: help of every subcommand, --version, exit codes, import cost."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lvsocf import __version__
from lvsocf.cli.main import main

VENV_BIN = Path(sys.executable).parent
HEAVY = ("pyroute2", "lxml", "requests")


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: lvsocf [--version] [--help] COMMAND [ARGS...]")
    for word in ("status", "check", "convert", "--version", "exit status",
                 "0 success, 1 failure", "2 usage error"):
        assert word in out
    assert "lab vm" not in out      # the lab is development tooling, not in the package
    assert main(["-h"]) == 0 and capsys.readouterr().out == out


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"lvsocf {__version__}\n"


@pytest.mark.parametrize("argv, words", [
    (["status", "--help"], ["usage: lvsocf status", "--json", "--watch [SECONDS]",
                            "issues:", "exit status:", "not loaded"]),
    (["check", "--help"], ["usage: lvsocf check", "--check-type", "--request", "--receive",
                           "--virtualhost", "--status-codes", "--http-method",
                           "--tls-verify, --no-tls-verify", "--ca-file", "--udp-payload",
                           "--udp-expect", "--dns-query", "--dns-type", "--external-command",
                           "--timeout", "--count", "--interval", "exit status:"]),
    (["convert", "--help"], ["usage: lvsocf convert", "--to", "exit status"]),
    (["help", "status"], ["usage: lvsocf status"]),
])
def test_every_subcommand_has_help(argv, words, capsys):
    assert main(argv) == 0
    out = capsys.readouterr().out
    for word in words:
        assert word in out, word


@pytest.mark.parametrize("argv, words", [
    ([], "missing command"),
    (["stauts"], "unknown command 'stauts' (did you mean 'status'?)"),
    (["frobnicate"], "unknown command 'frobnicate' (choose from: status, check, convert)"),
    (["--json"], "unknown option '--json'"),
    (["lab", "vm"], "unknown command 'lab'"),
    (["convert"], "the following arguments are required"),
])
def test_usage_errors_exit_2(argv, words, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "usage: lvsocf" in err and words in err and "Traceback" not in err


def test_ctrl_c_is_exit_130_without_traceback(monkeypatch, capsys):
    from lvsocf.cli import main as main_module

    def interrupted(argv):
        raise KeyboardInterrupt
    monkeypatch.setitem(main_module.COMMANDS, "status", interrupted)
    assert main(["status"]) == 130


def _run(*argv: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=120, **kw)


def test_console_script_and_module(tmp_path):
    script = VENV_BIN / "lvsocf"
    done = _run(str(script), "--version")
    assert done.returncode == 0 and done.stdout == f"lvsocf {__version__}\n"
    done = _run(sys.executable, "-m", "lvsocf.cli.main", "stauts")
    assert done.returncode == 2 and "did you mean 'status'" in done.stderr
    # convert is delegated with its own argv and exit codes
    src = tmp_path / "ldirectord.cf"
    src.write_text("virtual=192.0.2.1:80\n\treal=198.51.100.1:80 gate\n\tservice=http\n")
    done = _run(str(script), "convert", str(src), "--to", "crm")
    assert done.returncode == 0 and "ocf:lvsocf:IPVSService" in done.stdout


def test_broken_pipe_is_quiet():
    """`lvsocf --help | head -1`: no traceback when the reader goes away."""
    code = ("import sys, os\n"
            "r, w = os.pipe(); os.close(r); os.dup2(w, 1)\n"
            "from lvsocf.cli.main import main\n"
            "sys.exit(main(['--help']))\n")
    done = _run(sys.executable, "-c", code)
    assert done.returncode == 1 and done.stderr == ""


@pytest.mark.parametrize("argv", [["--help"], ["status", "--help"], ["check", "--help"],
                                  ["check", "none", "127.0.0.1"], ["--version"]])
def test_help_does_not_import_heavy_modules(argv):
    done = _run(sys.executable, "-X", "importtime", "-m", "lvsocf.cli.main", *argv,
                env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    imported = {line.split("|")[-1].strip().split(".")[0]
                for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "lvsocf" in imported
    assert not imported & set(HEAVY), imported & set(HEAVY)


def test_watch_stops_cleanly_on_sigint(tmp_path):
    """A real Ctrl-C (SIGINT) while `lvsocf status --watch` sleeps: exit 0, no traceback."""
    import signal
    env = {**os.environ, "LVSOCF_STATE_DIR": str(tmp_path)}
    # as from a terminal: a test run started in the background of a non-interactive shell
    # (`cmd &`) ignores SIGINT, and Python then installs no Ctrl-C handler in its children
    proc = subprocess.Popen([sys.executable, "-m", "lvsocf.cli.main", "status", "--watch",
                             "0.2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        first = proc.stdout.readline()
        assert first.startswith("Every 0.2s: lvsocf status")
        for _ in range(30):                       # a second refresh: the loop really loops
            if proc.stdout.readline().startswith("Every 0.2s"):
                break
        else:
            pytest.fail("no second refresh")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "\033" not in out + first
