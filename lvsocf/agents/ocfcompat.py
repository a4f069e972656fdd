"""The one place that wraps resource-agents' Python helper ``ocf.py``.

ocf.py is imported the way resource-agents' own Python agents do it. Everything the base
uses from it goes through this module: ``logger``, ``ocf_exit_reason``, ``is_probe``,
``OCF_ACTION`` and the exit-code constants. What ocf.py lacks is added here:

- the OCF 1.1 codes 190/191 (``OCF_DEGRADED``, ``OCF_DEGRADED_PROMOTED``) and the
  Promoted/Unpromoted names for 8/9;
- the action taken from ``argv[1]`` whenever there is one (the spec: "the RA shall ignore all
  other arguments"; ocf.py gives up when there is more than one argument);
- exit reasons reduced to one printable line, so a hostile value can't forge a second
  ``ocf-exit-reason:`` line or break Pacemaker's parsing;
- a missing or broken ocf.py is not an import error here: :func:`require` reports it as
  OCF_ERR_INSTALLED with an exit reason.

ocf.py's ``Agent``/``run`` are not used (required parameters enforced on stop and probes,
exceptions turning into rc 1 in probes, handler arguments by Python name, XML built without
escaping); :mod:`lvsocf.agents.base` and :mod:`lvsocf.agents.metadata` replace them.
"""

from __future__ import annotations

import logging
import os
import sys

OCF_FUNCTIONS_DIR = os.environ.get(
    "OCF_FUNCTIONS_DIR", os.environ.get("OCF_ROOT", "/usr/lib/ocf") + "/lib/heartbeat"
)
sys.path.append(OCF_FUNCTIONS_DIR)
try:
    import ocf
except Exception as err:  # ImportError, or an ocf.py that fails while loading
    ocf = None
    IMPORT_ERROR = f"{type(err).__name__}: {err}"
else:
    IMPORT_ERROR = ""


def _code(name: str, spec_value: int) -> int:
    # The spec's number stands in only while ocf.py is missing (then run() exits 5 anyway).
    return int(getattr(ocf, name, spec_value))


OCF_SUCCESS = _code("OCF_SUCCESS", 0)
OCF_ERR_GENERIC = _code("OCF_ERR_GENERIC", 1)
OCF_ERR_ARGS = _code("OCF_ERR_ARGS", 2)
OCF_ERR_UNIMPLEMENTED = _code("OCF_ERR_UNIMPLEMENTED", 3)
OCF_ERR_PERM = _code("OCF_ERR_PERM", 4)
OCF_ERR_INSTALLED = _code("OCF_ERR_INSTALLED", 5)
OCF_ERR_CONFIGURED = _code("OCF_ERR_CONFIGURED", 6)
OCF_NOT_RUNNING = _code("OCF_NOT_RUNNING", 7)
OCF_RUNNING_PROMOTED = _code("OCF_RUNNING_MASTER", 8)
OCF_FAILED_PROMOTED = _code("OCF_FAILED_MASTER", 9)
OCF_DEGRADED = 190
OCF_DEGRADED_PROMOTED = 191

CODE_NAMES = {
    OCF_SUCCESS: "success",
    OCF_ERR_GENERIC: "generic error",
    OCF_ERR_ARGS: "invalid argument",
    OCF_ERR_UNIMPLEMENTED: "unimplemented",
    OCF_ERR_PERM: "insufficient privileges",
    OCF_ERR_INSTALLED: "not installed",
    OCF_ERR_CONFIGURED: "not configured",
    OCF_NOT_RUNNING: "not running",
    OCF_RUNNING_PROMOTED: "running promoted",
    OCF_FAILED_PROMOTED: "failed promoted",
    OCF_DEGRADED: "degraded",
    OCF_DEGRADED_PROMOTED: "degraded promoted",
}

REASON_MAX = 200
_reason_given = False


def require() -> None:
    """Exit with OCF_ERR_INSTALLED and an exit reason when ocf.py could not be loaded."""
    # From here on this process is an agent: a logging failure (e.g. an unwritable
    # HA_LOGFILE) must not print a traceback to the user.
    logging.raiseExceptions = False
    if ocf is None:
        exit_reason(
            f"resource-agents' ocf.py is not usable from {OCF_FUNCTIONS_DIR} "
            f"(install resource-agents or set OCF_FUNCTIONS_DIR): {IMPORT_ERROR}"
        )
        sys.exit(OCF_ERR_INSTALLED)


def one_line(text: str, limit: int = REASON_MAX) -> str:
    """``text`` as one printable line of at most ``limit`` characters."""
    out = []
    for ch in text:
        if ch.isprintable():
            out.append(ch)
        elif ch in "\t\n\r":
            out.append(" ")
        else:
            out.append(ascii(ch)[1:-1])
    line = "".join(out)
    return line if len(line) <= limit else line[: limit - 3] + "..."


def shown(value: str, limit: int = 40) -> str:
    """A user-supplied value quoted for a message: escaped and truncated."""
    if len(value) > limit:
        return repr(value[:limit]) + "..."
    return repr(value)


def exit_reason(msg: str) -> None:
    """Print one ``ocf-exit-reason:`` line (through ocf.py, which also logs it)."""
    global _reason_given
    text = one_line(msg)
    if ocf is not None:
        ocf.ocf_exit_reason(text)
    else:
        prefix = os.environ.get("OCF_EXIT_REASON_PREFIX", "ocf-exit-reason:")
        sys.stderr.write(f"{prefix}{text}\n")
        sys.stderr.flush()
    _reason_given = True


def reset_reason() -> None:
    """Forget earlier exit reasons (for running several actions in one process)."""
    global _reason_given
    _reason_given = False
    if ocf is not None:
        ocf._exit_reason_set = False


def reason_given() -> bool:
    """True once an exit reason was printed, by us or by an agent calling ocf.py directly."""
    return _reason_given or bool(getattr(ocf, "_exit_reason_set", False))


def get_logger() -> logging.LoggerAdapter | logging.Logger:
    """ocf.py's logger (syslog / HA_LOGFILE / stderr on a tty)."""
    if ocf is not None:
        return ocf.logger
    return logging.getLogger("lvsocf")


def resolve_action(argv: list[str]) -> str | None:
    """The requested action: ``argv[1]``, else ocf.py's ``OCF_ACTION`` (``__OCF_ACTION``).

    ocf.py's ``OCF_ACTION`` is set to the answer so that ``ocf.is_probe()`` agrees with it.
    """
    action = argv[1] if len(argv) > 1 else getattr(ocf, "OCF_ACTION", None)
    if ocf is not None:
        ocf.OCF_ACTION = action
    return action


def have_binary(name: str) -> bool:
    """ocf.py's ``have_binary``, but false under ocf-tester's OCF_TESTER_FAIL_HAVE_BINARY=1
    (which resource-agents' shell library honours and ocf.py ignores)."""
    if os.environ.get("OCF_TESTER_FAIL_HAVE_BINARY") == "1":
        return False
    return bool(ocf is not None and ocf.have_binary(name))


def is_probe() -> bool:
    """ocf.py's rule: a monitor with ``OCF_RESKEY_CRM_meta_interval`` 0 or unset."""
    return bool(ocf is not None and ocf.is_probe())
