"""Private node attributes for each real server's state, best effort.

Private (`attrd_updater -p`): kept by pacemaker-attrd and never written to the CIB. A transient
attribute in the CIB aborts the DC's running transition at every change, and a table of 100
real servers coming up then reran the scheduler about four times per real server started.
Read them with `attrd_updater -Q -A -n lvsocf-<instance>`.

Only while Pacemaker answers on this node (`crm_node -n` succeeds; re-probed every minute).
Updates are coalesced per attribute (the latest value wins) and sent by one task with
`attrd_updater`, each under a timeout: a slow or absent attrd never delays a check.
"""
from __future__ import annotations

import asyncio
import logging
import re
import shutil
import time

log = logging.getLogger("lvsocf.engine")
PREFIX = "lvsocf-"
PROBE_EVERY = 60.0
TIMEOUT = 5.0
_UNSAFE = re.compile(r"[^A-Za-z0-9_.:@-]")


def attribute_name(instance: str) -> str:
    return PREFIX + _UNSAFE.sub("_", instance)


class Attrd:
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and shutil.which("attrd_updater") is not None
        self.available = False
        self._probed_at = -PROBE_EVERY
        self._pending: dict[str, str | None] = {}    # name -> value, None = delete
        self._wake = asyncio.Event()
        self.sent = 0

    def set(self, instance: str, value: str) -> None:
        self._queue(attribute_name(instance), value)

    def delete(self, instance: str) -> None:
        self._queue(attribute_name(instance), None)

    def _queue(self, name: str, value: str | None) -> None:
        if self.enabled:
            self._pending[name] = value
            self._wake.set()

    async def run(self) -> None:
        while self.enabled:
            await self._wake.wait()
            self._wake.clear()
            if not await self._cluster_up():
                # Keep only the latest values; they are sent once Pacemaker answers.
                await asyncio.sleep(min(PROBE_EVERY, 5.0))
                self._wake.set()
                continue
            while self._pending:
                name, value = next(iter(self._pending.items()))
                del self._pending[name]
                argv = ["attrd_updater", "-p", "-n", name]
                argv += ["-D"] if value is None else ["-U", value]
                if await _run(argv):
                    self.sent += 1
                else:
                    self._pending.setdefault(name, value)
                    self.available = False
                    break

    async def _cluster_up(self) -> bool:
        now = time.monotonic()
        if not self.available and now - self._probed_at >= PROBE_EVERY:
            self._probed_at = now
            self.available = await _run(["crm_node", "-n"])
            if self.available:
                log.info("Pacemaker answers: publishing private node attributes %s*", PREFIX)
        return self.available


async def _run(argv: list[str]) -> bool:
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
    except OSError as exc:
        log.debug("%s: %s", argv[0], exc)
        return False
    try:
        async with asyncio.timeout(TIMEOUT):
            return await proc.wait() == 0
    except TimeoutError:
        proc.kill()
        await proc.wait()
        log.debug("%s timed out", argv[0])
        return False
