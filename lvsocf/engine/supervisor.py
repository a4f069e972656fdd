"""One engine, several worker processes: for more checks than one core can run.

The engine process that holds the lock becomes a small supervisor (no asyncio, no netlink):
it starts N workers (`python -m lvsocf.engine --worker I/N`), each an Engine for the share of
the registrations that hashes to it (registry.Shard), and stays what agents and operators
see: the pid file, SIGHUP (forwarded), SIGTERM (forwarded, then it exits), idle exit, and the
`engine/status` record (the workers' `status-I` records summed up).
- A worker that dies is started again; like a restarted engine it resumes its registrations
  from their health records, so no weight changes.
- Workers die with the supervisor (PR_SET_PDEATHSIG), so a SIGKILLed engine leaves nothing
  behind and the next start finds the lock free.
- Each worker owns only its registrations' entries; a service split over workers gets its
  fallback decided from the kernel table, with one re-check against a lost race (engine.py).
"""
from __future__ import annotations

import logging
import os
import resource
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

from lvsocf import state
from lvsocf.engine import files
from lvsocf.engine.idle import IdleTimer
from lvsocf.engine.registry import KIND
from lvsocf.metrics.files import Settings as MetricsSettings

log = logging.getLogger("lvsocf.engine")
STATUS_EVERY = 5.0
READY_TIMEOUT = 300.0       # a worker loading thousands of registrations in TCG is slow
RESTART_PAUSE = 1.0
_SUMMED = ("registrations", "checks", "failures", "inconclusive", "cpu_seconds",
           "max_rss_kib", "healthy", "down", "checks_per_second")


def worker_count(text: str) -> int:
    """--workers / LVSOCF_ENGINE_WORKERS: a number >= 1, or "auto" (the CPUs we may use)."""
    text = text.strip().lower()
    if text == "auto":
        return max(1, len(os.sched_getaffinity(0)))
    count = int(text)
    if not 1 <= count <= 64:
        raise ValueError(f"workers: expected 1-64 or auto, got {text!r}")
    return count


def set_parent_death_signal(parent: int) -> None:
    """Die with the supervisor (Linux prctl PR_SET_PDEATHSIG); exit now if it is gone."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(0)


def merge_status(pid: int, started: float, workers: Sequence[dict]) -> dict:
    """The engine status record of a supervisor: its workers' records summed up."""
    merged: dict = {"pid": pid, "started": started, "shard": None, "at": time.time()}
    for key in _SUMMED:
        merged[key] = sum(w.get(key) or 0 for w in workers)
    for key in ("lateness_p50", "lateness_p95", "interval_max"):
        values = [w[key] for w in workers if w.get(key) is not None]
        merged[key] = max(values) if values else None
    # the heartbeat of the slowest worker: a hung worker makes the engine hung (watchdog)
    beats = [w["at"] for w in workers if isinstance(w.get("at"), int | float)]
    merged["cycle_at"] = min(beats) if beats else None
    usage = resource.getrusage(resource.RUSAGE_SELF)
    merged["cpu_seconds"] += usage.ru_utime + usage.ru_stime
    merged["attrd"] = bool(workers) and all(w.get("attrd") for w in workers)
    merged["workers"] = [{k: w.get(k) for k in ("shard", "pid", "registrations", "checks",
                                                  "lateness_p95", "cpu_seconds")}
                         for w in workers]
    return merged


class Worker:
    def __init__(self, index: int, count: int, argv: list[str]) -> None:
        self.index, self.count, self.argv = index, count, argv
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0
        self.ready_fd: int | None = None    # its "ready" line arrives here
        self.ready = False

    @property
    def name(self) -> str:
        return f"worker {self.index + 1}/{self.count}"

    def start(self) -> None:
        self.close_ready_fd()
        read_fd, write_fd = os.pipe()
        argv = [*self.argv, "--worker", f"{self.index + 1}/{self.count}",
                "--parent-pid", str(os.getpid()), "--ready-fd", str(write_fd)]
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, pass_fds=(write_fd,))
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        self.started_at = time.monotonic()
        self.ready_fd, self.ready = read_fd, False

    def read_ready(self) -> str:
        """Its start-up report ("ready PID", or an error; "" if it exited without one)."""
        assert self.ready_fd is not None
        line = os.read(self.ready_fd, 4096).decode(errors="replace").strip()
        self.close_ready_fd()
        self.ready = line.startswith("ready")
        return line

    def close_ready_fd(self) -> None:
        if self.ready_fd is not None:
            os.close(self.ready_fd)
            self.ready_fd = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def send(self, signum: int) -> None:
        if self.alive():
            try:
                self.proc.send_signal(signum)       # type: ignore[union-attr]
            except ProcessLookupError:
                pass


class Supervisor:
    def __init__(self, count: int, worker_argv: list[str], idle_exit: float | None,
                 poll: float = 0.5, metrics: MetricsSettings | None = None) -> None:
        self.workers = [Worker(i, count, worker_argv) for i in range(count)]
        self.idle_exit = idle_exit
        self.poll = poll
        self.metrics = metrics
        self.started = time.time()
        self.stop_reason = ""
        self._idle = IdleTimer(idle_exit)

    # -- signals (handlers run between bytecodes of the main loop)
    def _forward_hup(self, signum: int, frame: object) -> None:
        # A worker still starting would die of SIGHUP's default action; it reads every
        # registration when it starts anyway.
        for w in self.workers:
            if w.ready:
                w.send(signal.SIGHUP)

    def _stop(self, signum: int, frame: object) -> None:
        self.stop_reason = self.stop_reason or signal.Signals(signum).name

    def run(self, ready: Callable[[], None]) -> str:
        signal.signal(signal.SIGHUP, self._forward_hup)
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        try:
            self._start_all()
            if not self.stop_reason:
                ready()
                self._loop()
        finally:
            self._stop_all()
        return self.stop_reason

    def _start_all(self) -> None:
        for w in self.workers:
            w.start()
        deadline = time.monotonic() + READY_TIMEOUT
        while not self.stop_reason:
            pending = {w.ready_fd: w for w in self.workers if w.ready_fd is not None}
            if not pending:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"{', '.join(w.name for w in pending.values())} not ready "
                                   f"after {READY_TIMEOUT:g}s")
            readable, _, _ = select.select(list(pending), [], [], min(left, self.poll))
            for fd in readable:
                worker = pending[fd]
                line = worker.read_ready()
                if not worker.ready:
                    raise RuntimeError(f"{worker.name} did not start: {line or 'exited'}")

    def _loop(self) -> None:
        last_status = last_metrics = 0.0
        while not self.stop_reason:
            waiting = {w.ready_fd: w for w in self.workers if w.ready_fd is not None}
            readable, _, _ = select.select(list(waiting), [], [], self.poll)
            for fd in readable:
                waiting[fd].read_ready()
            for w in self.workers:
                if not w.alive() and not self.stop_reason and \
                        time.monotonic() - w.started_at >= RESTART_PAUSE:
                    code = w.proc.returncode if w.proc is not None else None
                    log.warning("%s (pid %s) exited with %s; starting it again", w.name,
                                w.proc.pid if w.proc else "?", code)
                    w.start()
            if time.monotonic() - last_status >= STATUS_EVERY:
                last_status = time.monotonic()
                self._publish()
            if self.metrics is not None and \
                    time.monotonic() - last_metrics >= self.metrics.interval:
                last_metrics = time.monotonic()
                self._write_metrics()
            self._check_idle()

    def _publish(self) -> None:
        pids = {w.proc.pid for w in self.workers if w.proc is not None}
        records = [state.read("engine", f"status-{w.index + 1}") for w in self.workers]
        current = [r for r in records if r and r.get("pid") in pids]
        try:
            state.write("engine", "status", merge_status(os.getpid(), self.started, current))
        except OSError as exc:
            log.debug("status record: %s", exc)

    def _write_metrics(self) -> None:
        """The metrics file from the records the workers publish (the same as `lvsocf
        status --format prometheus`)."""
        from lvsocf.metrics import families, files

        assert self.metrics is not None
        files.write(self.metrics, families.from_state(time.time()))

    def _check_idle(self) -> None:
        if self.idle_exit is None:
            return
        try:
            registered = any(n.endswith(".json") and not n.startswith(".")
                             for n in os.listdir(state.state_dir() / KIND))
        except FileNotFoundError:
            registered = False
        if self._idle.expired(busy=registered):
            self.stop_reason = f"no registrations for {self.idle_exit:g}s"

    def _stop_all(self) -> None:
        for w in self.workers:
            w.close_ready_fd()
            w.send(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for w in self.workers:
            if w.proc is None:
                continue
            try:
                w.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                w.proc.kill()
                w.proc.wait()


def worker_argv(args_state_dir: str | None, poll: float, debug: bool) -> list[str]:
    argv = [sys.executable, "-m", "lvsocf.engine", "--state-dir",
            args_state_dir or str(files.path("")).rstrip("/"), "--poll", str(poll)]
    return [*argv, "--debug"] if debug else argv
