"""The one interface every check implements, plus the option parsers they share."""
from __future__ import annotations

import functools
import ipaddress
import os
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ClassVar, NamedTuple, Protocol, runtime_checkable


class CheckConfigError(ValueError):
    """A check option is invalid; the message names the option (agent parameter name)."""


@dataclass(frozen=True)
class Target:
    """What a check probes: the real server, or its check_address/check_port override."""

    address: str
    port: int | None


class CheckResult(NamedTuple):
    """The outcome of one check. `detail` is short, says why it failed, and never holds secrets.
    (A named tuple: thousands are made per second and a tuple is the cheapest to make.)"""

    ok: bool
    latency: float
    detail: str


class Cancellable(Protocol):
    def cancel(self) -> object: ...


Done = Callable[[CheckResult], None]
#: start(timeout, done): begins one check on the running loop; done gets its result
Starter = Callable[[float, Done], Cancellable]


@runtime_checkable
class Checker(Protocol):
    """What every check implements (TaskChecker gives the usual starter and release)."""

    kind: ClassVar[str]

    async def check(self, timeout: float) -> CheckResult:
        """Probe once. Never raises (except CancelledError); a timeout is ok=False."""
        ...

    def starter(self) -> Starter:
        """How this checker's checks start on the running loop, resolved once per checker:
        the engine starts thousands of checks a second and looks nothing up per check.
        tcp, tcp-half-open and http start on a shared reactor without a task."""
        ...

    def release(self) -> None:
        """Let go of what the checker keeps between its checks (http's reused connection)."""
        ...


class TaskChecker:
    """starter() and release() of a checker whose check() coroutine runs as a task and that
    keeps nothing between its checks."""

    def starter(self: Checker) -> Starter:
        return functools.partial(_start_task, self)

    def release(self) -> None:
        """Nothing is kept between checks."""


def begin_check(checker: Checker, timeout: float, done: Done) -> Cancellable:
    """Start one check on the running loop; `done` gets its result (not if cancelled)."""
    return checker.starter()(timeout, done)


def check_starter(checker: Checker) -> Starter:
    """The checker's starter(): `start(timeout, done)` on the running loop."""
    return checker.starter()


def release(checker: Checker) -> None:
    """The checker's release(): it lets go of what it keeps between its checks."""
    checker.release()


async def awaited(start: Starter, timeout: float) -> CheckResult:
    """One check through a starter (check_starter), awaited; cancelling the caller cancels
    the check."""
    import asyncio

    future: asyncio.Future[CheckResult] = asyncio.get_running_loop().create_future()

    def done(result: CheckResult) -> None:
        if not future.done():
            future.set_result(result)
    handle = start(timeout, done)
    try:
        return await future
    finally:
        handle.cancel()


def _start_task(checker: Checker, timeout: float, done: Done) -> Cancellable:
    import asyncio  # here, not at the top: importing the package (agents do) stays cheap

    def finished(task: asyncio.Task[CheckResult]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        done(task.result() if exc is None else CheckResult(False, 0.0, describe_error(exc)))
    task = asyncio.get_running_loop().create_task(checker.check(timeout))
    task.add_done_callback(finished)
    return task


async def guarded(probe: Callable[[], Awaitable[str]], timeout: float,
                  timeout_ok: bool = False, timeout_detail: str = "") -> CheckResult:
    """Run `probe` under `timeout` and turn its outcome into a CheckResult.

    `probe` returns a short detail on success and raises CheckFailed (or any OSError/ValueError
    etc.) on failure. Only cancellation of the caller propagates.
    """
    import asyncio  # here, not at the top: importing the package (agents do) stays cheap

    start = time.monotonic()
    deadline = asyncio.timeout(timeout)
    try:
        async with deadline:
            detail = await probe()
    except TimeoutError as exc:
        latency = time.monotonic() - start
        if not deadline.expired():      # a kernel ETIMEDOUT, not our deadline: a plain error
            return CheckResult(False, latency, describe_error(exc))
        if timeout_ok:
            return CheckResult(True, latency, timeout_detail or f"no error within {timeout:g}s")
        return CheckResult(False, latency, timeout_detail or f"timed out after {timeout:g}s")
    except CheckFailed as exc:
        return CheckResult(False, time.monotonic() - start, str(exc))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - a check must never raise
        return CheckResult(False, time.monotonic() - start, describe_error(exc))
    return CheckResult(True, time.monotonic() - start, detail)


class CheckFailed(Exception):
    """Raised inside a probe: the server answered, but not well enough. str() is the detail."""


def describe_error(exc: BaseException) -> str:
    """A short, secret-free description of an exception."""
    if isinstance(exc, OSError) and not hasattr(exc, "library"):   # not an ssl.SSLError
        if exc.errno and exc.errno > 0:
            return os.strerror(exc.errno)     # asyncio's "Connect call failed" hides it
        if exc.strerror:
            return exc.strerror
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    return f"{name}: {text}"[:200] if text else name


# ---- option values shared by the checks (typed: see spec/) ---------------------------------

def parse_hex(name: str, value: str) -> bytes:
    """A hex option's bytes ("0x" prefix allowed); CheckConfigError naming it."""
    if value[:2].lower() == "0x":
        value = value[2:]
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise CheckConfigError(f"{name}: expected hex bytes like 'deadbeef', got {value!r}") \
            from None


def parse_regex(name: str, value: str) -> re.Pattern[str] | None:
    """A regular expression option, None when unset; CheckConfigError naming it."""
    if not value:
        return None
    try:
        return re.compile(value)
    except re.error as exc:
        raise CheckConfigError(f"{name}: invalid regular expression: {exc}") from None


def check_address(target: Target) -> str:
    """The target address as a canonical IP literal (IPv6 scope ids kept)."""
    try:
        return str(ipaddress.ip_address(target.address))
    except ValueError:
        raise CheckConfigError(
            f"check_address: expected an IPv4 or IPv6 address, got {target.address!r}") from None


def check_port(target: Target, default: int | None = None) -> int:
    port = target.port if target.port is not None else default
    if port is None:
        raise CheckConfigError("check_port: this check needs a port")
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise CheckConfigError(f"check_port: expected 1-65535, got {port!r}")
    return port


def is_ipv6(address: str) -> bool:
    return ":" in address


def socket_address(address: str, port: int) -> tuple[int, tuple]:
    """(family, sockaddr) for a canonical IP literal, resolved once (an IPv6 scope id such
    as fe80::1%eth0 becomes its interface index). An interface missing on this node is left
    for the check itself to report."""
    import socket

    if not is_ipv6(address):
        return socket.AF_INET, (address, port)
    try:
        info = socket.getaddrinfo(address, port, socket.AF_INET6, socket.SOCK_STREAM, 0,
                                  socket.AI_NUMERICHOST)
    except socket.gaierror:
        return socket.AF_INET6, (address, port, 0, 0)
    return socket.AF_INET6, info[0][4]
