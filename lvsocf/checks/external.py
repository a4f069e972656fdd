"""check_type=external: run external_command (shell-quoted words, split with shlex, never a
shell); exit status 0 means up.

The command runs in its own session/process group with LVSOCF_RIP and LVSOCF_RPORT (empty when
there is no port) and LVSOCF_TIMEOUT added to the environment, stdin/stdout/stderr on
/dev/null. At the timeout the whole process group is killed (SIGKILL); after a normal exit,
anything the command left running in its group is killed too, so checks cannot pile up.
"""
from __future__ import annotations

import asyncio
import os
import shlex
import signal
from collections.abc import Mapping
from typing import Any, ClassVar

from .base import (
    CheckConfigError,
    CheckFailed,
    CheckResult,
    Target,
    TaskChecker,
    guarded,
)
from .spec.external import ExternalOptions


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class ExternalChecker(TaskChecker):
    kind: ClassVar[str] = "external"

    def __init__(self, target: Target,
                 options: ExternalOptions | Mapping[str, Any]) -> None:
        command = ExternalOptions.of(options).external_command
        try:
            self.argv = shlex.split(command)
        except ValueError as exc:
            raise CheckConfigError(f"external_command: cannot split into words: {exc}") \
                from None
        if not self.argv:
            raise CheckConfigError("external_command: required for check_type=external")
        self.target = target

    async def check(self, timeout: float) -> CheckResult:
        name = os.path.basename(self.argv[0])
        return await guarded(lambda: self._run(timeout), timeout,
                             timeout_detail=f"{name}: timed out after {timeout:g}s, killed")

    async def _run(self, timeout: float) -> str:
        env = dict(os.environ)
        env["LVSOCF_RIP"] = self.target.address
        env["LVSOCF_RPORT"] = "" if self.target.port is None else str(self.target.port)
        env["LVSOCF_TIMEOUT"] = f"{timeout:g}"
        name = os.path.basename(self.argv[0])
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.argv, env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
                start_new_session=True, close_fds=True)
        except OSError as exc:
            raise CheckFailed(f"{name}: cannot run: {exc.strerror or exc}") from None
        try:
            status = await proc.wait()
        finally:
            # The child leads its own process group (start_new_session); on timeout or
            # cancellation this kills it and its descendants, after an exit only leftovers.
            _kill_group(proc.pid)
            if proc.returncode is None:
                await asyncio.shield(proc.wait())
        if status == 0:
            return f"{name}: exit 0"
        if status < 0:
            raise CheckFailed(f"{name}: killed by signal {-status}")
        raise CheckFailed(f"{name}: exit {status}")
