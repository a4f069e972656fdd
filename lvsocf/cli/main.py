"""The `lvsocf` command: dispatches to status, check and convert.

Kept cheap: `lvsocf --help` imports no subcommand; each subcommand module is imported only when
it runs (pyroute2 only when `status` reads the kernel).
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

from lvsocf import __version__

PROG = "lvsocf"
USAGE = f"usage: {PROG} [--version] [--help] COMMAND [ARGS...]"

HELP = f"""\
{USAGE}

Highly available Linux IPVS (LVS) load balancing under Pacemaker: the command-line side of
the lvsocf resource agents (ocf:lvsocf:IPVSService, IPVSRealServer, IPVSSync).

commands:
  status     the IPVS table joined with the health state (weights, connections, rates,
             up/down since when), the sync daemons, sync sysctls and timeouts; --json, --watch
  check      run one health check by hand, with the check engine's code and options:
             lvsocf check http 192.0.2.10:80 --request /health
  convert    convert ldirectord.cf or keepalived.conf into crmsh or pcs configuration

options:
  -h, --help  show this help and exit
  --version   show the version and exit

Run `{PROG} COMMAND --help` for the options of a command.

exit status: 0 success, 1 failure (e.g. a failed check, IPVS unreadable), 2 usage error."""

def _status(argv: list[str]) -> int:
    from lvsocf.cli import status
    return status.run(argv)


def _check(argv: list[str]) -> int:
    from lvsocf.cli import check
    return check.run(argv)


def _convert(argv: list[str]) -> int:
    from lvsocf.cli import convert
    return convert.run(argv)


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "status": _status, "check": _check, "convert": _convert,
}


def _usage_error(message: str, usage: str = USAGE) -> int:
    print(f"{usage}\n{PROG}: error: {message}", file=sys.stderr)
    return 2


def dispatch(argv: Sequence[str]) -> int:
    args = list(argv)
    if not args:
        return _usage_error("missing command (choose from: status, check, convert)")
    first = args[0]
    if first in ("-h", "--help", "help"):
        if first == "help" and len(args) > 1:       # `lvsocf help status` = status --help
            return dispatch([args[1], "--help"])
        print(HELP)
        return 0
    if first == "--version":
        print(f"{PROG} {__version__}")
        return 0
    if first.startswith("-"):
        return _usage_error(f"unknown option {first!r}")
    handler = COMMANDS.get(first)
    if handler is None:
        import difflib
        close = difflib.get_close_matches(first, COMMANDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else \
            " (choose from: status, check, convert)"
        return _usage_error(f"unknown command {first!r}{hint}")
    return handler(args[1:])


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: returns the exit status (Ctrl-C gives 130, no traceback)."""
    try:
        code = dispatch(sys.argv[1:] if argv is None else argv)
        sys.stdout.flush()
        return code
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`lvsocf status | head`): silence the flush at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
