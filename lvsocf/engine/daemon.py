"""The engine process: one per state directory, detached, locked, logging, signal-driven.

    python -m lvsocf.engine --state-dir DIR [--daemonize] [--ready-fd FD] [--idle-exit S]
                            [--workers N|auto] [--metrics-file PATH.prom]
                            [--metrics-interval S]

Started by lvsocf.engine.client (agents) with a clean environment. With --daemonize it forks
once more so it is nobody's child. It takes the flock on DIR/engine.lock (giving up when
another engine holds it: "busy"), writes DIR/engine.pid and reports "started PID" on the
ready fd, raises RLIMIT_NOFILE, loads every registration and reports "ready PID".
SIGHUP: re-read registrations now.
SIGTERM/SIGINT: exit, changing nothing in the kernel (neither does SIGKILL).
With --workers N > 1 (or LVSOCF_ENGINE_WORKERS) it supervises N worker processes that share
the checks (lvsocf.engine.supervisor).
--metrics-file (or LVSOCF_ENGINE_METRICS_FILE) writes Prometheus metrics for node_exporter's
textfile collector every --metrics-interval (LVSOCF_ENGINE_METRICS_INTERVAL, 15) seconds.
"""
from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import resource
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lvsocf.engine import files
from lvsocf.metrics import files as metrics_files

if TYPE_CHECKING:
    from lvsocf.engine.registry import Shard

log = logging.getLogger("lvsocf.engine")
LOCK_WAIT = 3.0     # an agent probing the lock holds it for microseconds: retry that long
NOFILE = 65536
_early_hup = False


def _on_early_hup(signum: int, frame: object) -> None:
    global _early_hup
    _early_hup = True


def raise_nofile(want: int = NOFILE) -> int:
    """Lift the open-files limit (each check holds a socket while it runs)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else max(soft, hard)
    for limit in ((max(want, hard), max(want, hard)), (target, hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, limit)
            break
        except (ValueError, OSError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def setup_logging(debug: bool = False, worker: str = "") -> None:
    """A file in the state dir always; HA_LOGFILE, or syslog when /dev/log exists, too.
    Workers of a supervisor (`worker` "I/N") append to the file the supervisor rotates."""
    tag = f" worker {worker}" if worker else ""
    fmt = logging.Formatter(f"%(asctime)s lvsocf-engine[%(process)d]{tag} %(levelname)s: "
                            "%(message)s")
    own_log = files.path(files.LOG)
    handlers: list[logging.Handler] = [
        logging.handlers.WatchedFileHandler(own_log) if worker else
        logging.handlers.RotatingFileHandler(own_log, maxBytes=1 << 20, backupCount=1)]
    ha_logfile = os.environ.get("HA_LOGFILE", "")
    if ha_logfile:
        handlers.append(logging.handlers.WatchedFileHandler(ha_logfile))
    elif Path("/dev/log").is_socket():
        facility = os.environ.get("HA_LOGFACILITY", "daemon")
        try:
            syslog = logging.handlers.SysLogHandler(
                "/dev/log", logging.handlers.SysLogHandler.facility_names.get(facility, 3))
            syslog.setFormatter(logging.Formatter(f"lvsocf-engine[%(process)d]{tag}: "
                                                  "%(message)s"))
            handlers.append(syslog)
        except OSError:
            pass
    for h in handlers:
        if h.formatter is None:
            h.setFormatter(fmt)
        log.addHandler(h)
    log.setLevel(logging.DEBUG if debug else logging.INFO)
    log.propagate = False
    logging.raiseExceptions = False


def _daemonize() -> None:
    """Fork once more and let the parent exit: the engine is then nobody's child and, not
    being a session leader, can never acquire a controlling terminal."""
    if os.fork() > 0:
        os._exit(0)
    os.chdir("/")


def _lock() -> int | None:
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        fd = files.try_lock(files.LOCK)
        if fd is not None or time.monotonic() > deadline:
            return fd
        time.sleep(0.05)


def _tell(fd: int | None, message: str, last: bool = True) -> None:
    if fd is None:
        return
    try:
        os.write(fd, message.encode() + b"\n")
        if last:
            os.close(fd)
    except OSError:
        pass


def _write_pid() -> None:
    target = files.path(files.PID)
    tmp = target.with_name(f".{target.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{os.getpid()}\n{files.code_stamp()}\n")
    os.replace(tmp, target)


def _remove_pid() -> None:
    if files.read_pid() == os.getpid():
        try:
            files.path(files.PID).unlink()
        except FileNotFoundError:
            pass


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="lvsocf-engine")
    p.add_argument("--state-dir", help="state directory (default LVSOCF_STATE_DIR)")
    p.add_argument("--daemonize", action="store_true")
    p.add_argument("--ready-fd", type=int)
    p.add_argument("--idle-exit", type=float, default=30.0,
                   help="exit after this many seconds without registrations (0: never)")
    p.add_argument("--poll", type=float, default=0.5)
    p.add_argument("--debug", action="store_true")
    p.add_argument("--workers", default=os.environ.get("LVSOCF_ENGINE_WORKERS", "1"),
                   help="worker processes sharing the checks: a number or auto (one per "
                        "CPU); default LVSOCF_ENGINE_WORKERS or 1")
    p.add_argument("--metrics-file", default=os.environ.get(metrics_files.FILE_ENV),
                   help="write Prometheus metrics to this .prom file (default "
                        "LVSOCF_ENGINE_METRICS_FILE; unset: none)")
    p.add_argument("--metrics-interval", default=os.environ.get(metrics_files.INTERVAL_ENV),
                   help="seconds between writes of the metrics file (default "
                        "LVSOCF_ENGINE_METRICS_INTERVAL or 15)")
    p.add_argument("--worker", help=argparse.SUPPRESS)          # I/N: run as worker I
    p.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    # Before anything slow: an agent may SIGHUP us as soon as the pid file exists, and
    # SIGHUP's default action is to terminate.
    signal.signal(signal.SIGHUP, _on_early_hup)
    args = parse_args(argv)
    if args.state_dir:
        os.environ["LVSOCF_STATE_DIR"] = args.state_dir
    os.umask(0o077)
    if args.worker:
        return _worker(args)
    if args.daemonize:
        _daemonize()
    files.ensure_dir()
    lock_fd = _lock()
    if lock_fd is None:
        _tell(args.ready_fd, f"busy {files.read_pid() or 0}")
        return 0
    setup_logging(args.debug or os.environ.get("HA_debug") == "1")
    _write_pid()
    # The lock is ours: whoever started us may go on (the heavy imports come next).
    _tell(args.ready_fd, f"started {os.getpid()}", last=False)
    nofile = raise_nofile()
    try:
        count = _worker_count(args.workers)
        if count > 1:
            return _supervise(args, count)
        return _serve(args, nofile)
    except Exception as exc:
        log.exception("engine failed: %s", exc)
        _tell(args.ready_fd, f"error {type(exc).__name__}: {exc}")
        return 1
    finally:
        _remove_pid()
        files.release(lock_fd)


def _worker_count(text: str) -> int:
    from lvsocf.engine.supervisor import worker_count

    try:
        return worker_count(text)
    except ValueError:
        log.error("workers: expected a number >= 1 or auto, got %r; running one", text)
        return 1


def _metrics(args: argparse.Namespace) -> metrics_files.Settings | None:
    """The metrics file settings; a malformed one is logged and ignored (no metrics beats
    no checks)."""
    try:
        return metrics_files.settings(args.metrics_file, args.metrics_interval)
    except ValueError as exc:
        log.error("%s: writing no metrics file", exc)
        return None


def _supervise(args: argparse.Namespace, count: int) -> int:
    from lvsocf.engine.supervisor import Supervisor, worker_argv

    supervisor = Supervisor(count, worker_argv(args.state_dir, args.poll, args.debug),
                            idle_exit=args.idle_exit or None, poll=args.poll,
                            metrics=_metrics(args))

    def ready() -> None:
        log.info("engine %d ready with %d workers, state dir %s", os.getpid(), count,
                 files.path(""))
        _tell(args.ready_fd, f"ready {os.getpid()}")
    reason = supervisor.run(ready)
    log.info("engine %d exits (%s); weights left as they are", os.getpid(), reason)
    return 0


def _worker(args: argparse.Namespace) -> int:
    """Worker I/N of a supervisor: no lock or pid file of its own; dies with its parent."""
    from lvsocf.engine.registry import Shard
    from lvsocf.engine.supervisor import set_parent_death_signal

    set_parent_death_signal(args.parent_pid or os.getppid())
    shard = Shard.parse(args.worker)
    setup_logging(args.debug or os.environ.get("HA_debug") == "1", worker=str(shard))
    try:
        return _serve(args, raise_nofile(), shard)
    except Exception as exc:
        log.exception("worker failed: %s", exc)
        _tell(args.ready_fd, f"error {type(exc).__name__}: {exc}")
        return 1


def _serve(args: argparse.Namespace, nofile: int, shard: Shard | None = None) -> int:
    import asyncio

    from lvsocf.engine.attrd import Attrd
    from lvsocf.engine.engine import Engine
    from lvsocf.ipvs.netlink import Ipvs

    engine = Engine(Ipvs, poll=args.poll, attrd=Attrd(), shard=shard,
                    idle_exit=None if shard is not None else args.idle_exit or None,
                    metrics=None if shard is not None else _metrics(args))

    def ready() -> None:
        log.info("engine %d ready: %d registrations, state dir %s, open files limit %d",
                 os.getpid(), len(engine.monitors), files.path(""), nofile)
        _tell(args.ready_fd, f"ready {os.getpid()}")

    async def run() -> str:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, engine.poke)
        loop.add_signal_handler(signal.SIGTERM, engine.request_stop, "SIGTERM")
        loop.add_signal_handler(signal.SIGINT, engine.request_stop, "SIGINT")
        if _early_hup:
            engine.poke()
        return await engine.run(ready)

    reason = asyncio.run(run())
    log.info("engine %d exits (%s); weights left as they are", os.getpid(), reason)
    return 0


if __name__ == "__main__":
    sys.exit(main())
