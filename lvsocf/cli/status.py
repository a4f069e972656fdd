"""`lvsocf status`: the IPVS table joined with the health state, as text or JSON."""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from typing import Any, TextIO

from lvsocf.cli.argtypes import bounded

PROG = "lvsocf status"

DESCRIPTION = """\
Show this director's IPVS table as operators read it: every virtual service with its
scheduler and options, every real server with its forwarding method, weight, active and
inactive connections, total connections and the kernel's rate estimates (connections,
packets and bytes per second, in/out), joined with the health state the lvsocf check engine
publishes (up, DOWN, soft states, since when, check latency, last detail); then the sync
daemons and their roles, the sync sysctls and the IPVS timeouts.

Works without the cluster: it reads the kernel over netlink and the node-local state records
(LVSOCF_STATE_DIR, default /run/lvsocf). It never loads the ip_vs module. Records that are
unreadable, malformed, duplicated, stale (their engine is not running) or that do not match
the table, and table entries lvsocf has no record of, are listed under "Issues"."""

EPILOG = """\
text view:
  WEIGHT     current kernel weight; "0/5" = current/configured when the engine changed it
  HEALTH     up, DOWN, "up (failing)" (soft: failing fewer than `fall` times),
             "DOWN (rising)" (soft: fewer than `rise` successes), unknown, fallback (the
             service's sorry server), "-" (no record); "(stale)" when the engine that wrote
             the record is not running
  SINCE      time since the last hard health transition
  rates      connections, packets and bytes per second (CPS, PPS, BPS): the kernel's
             2-second estimates; K/M/G = 10^3/10^6/10^9 (exact values in --json)

--json document (schema 1; keys are stable, new keys may be added):
  schema, time (unix), host, state_dir, engine
  ipvs: {loaded, version, conn_tab_size}
  services: [{name, key: {protocol, address, port, fwmark, family}, resource, scheduler,
      sched_flags: [..], persistent (s, 0 = off), netmask, pe_name, one_packet,
      active_conns, inactive_conns, stats, real_servers: [...]}]
  real_servers: [{address, port, in_table, role (real_server|fallback), resource, method,
      weight, u_threshold, l_threshold, active_conns, inactive_conns, persistent_conns,
      stats, failure_action, removed_by_failure_action (only when in_table is false),
      health: null | {resource, state (unknown|up|soft_down|down|soft_up), healthy, since,
      last_check, latency (s), detail, error, check, weight, configured_weight,
      engine_pid, engine_running, failure_action}}]   (not in the table: null kernel fields)
  stats: {conns, inpkts, outpkts, inbytes, outbytes, cps, inpps, outpps, inbps, outbps}
  daemons: [{state (master|backup), interface, syncid, maxlen, mcast_group, mcast_port,
      mcast_ttl}]   (0 / null = kernel default)
  sync_records: {resource: record as written by IPVSSync}
  engine: null | {pid, running, started, at, registrations, healthy, down, checks,
      failures}   (the check engine's own status record)
  sysctls: {sync_threshold: [n, m], sync_refresh_period, sync_retries, backup_only,
      sloppy_tcp, expire_nodest_conn, expire_quiescent_template}   (null = not available)
  timeouts: null | {tcp, tcp_fin, udp}   (seconds)
  issues: [{kind, record ("KIND/NAME" or null), message}]; kinds: state_unreadable,
      unreadable_record, malformed_record, duplicate_record, not_in_table, no_health,
      unmanaged, weight_mismatch, engine_not_running, no_daemon
  With --watch, one document per line (JSON Lines); a refresh that cannot read the kernel
  prints {error, time} instead and the watch goes on.

exit status:
  0  the status was shown, including when IPVS is not loaded ("IPVS is not loaded",
     ipvs.loaded=false, no services) and when there are issues (they are in the output)
  1  the kernel could not be read (e.g. permission denied: run as root)
  2  usage error

--format prometheus: the Prometheus text format of the health records and the engine's
  status record (no kernel read), the same metrics the engine writes to
  LVSOCF_ENGINE_METRICS_FILE (README "Metrics").

examples:
  lvsocf status
  lvsocf status --format prometheus
  lvsocf status --watch 1
  lvsocf status --json | jq '.services[].real_servers[] | select(.health.healthy == false)'"""

CLEAR = "\033[H\033[2J"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true",
                        help="print one JSON document (keys below) instead of the table")
    parser.add_argument("--format", choices=("text", "json", "prometheus"), default=None,
                        help="text (default), json (= --json) or prometheus (the health "
                             "metrics, from the records)")
    parser.add_argument("--watch", nargs="?", type=_interval, const=2.0, metavar="SECONDS",
                        help="refresh every SECONDS (default 2) until Ctrl-C; on a terminal "
                             "the screen is redrawn in place (lines cut to its width), "
                             "otherwise each refresh is appended")
    return parser


_interval = bounded(float, 0.1, 86400, "a number of seconds", " seconds")


def snapshot() -> dict[str, Any]:
    """Read the kernel and the state records now; raises collect.CollectError."""
    from lvsocf.cli import collect, report
    kernel = collect.read_kernel()
    return report.build(kernel, collect.read_state(), time.time())


def format_doc(doc: dict[str, Any], as_json: bool, compact: bool = False) -> str:
    if as_json:
        if compact:
            return json.dumps(doc, sort_keys=True) + "\n"
        return json.dumps(doc, indent=2, sort_keys=True) + "\n"
    from lvsocf.cli import render
    return render.text(doc)


def fit(text: str, columns: int) -> str:
    """Cut lines to the terminal width, so a refresh in place never wraps or scrolls."""
    return "".join(line[:columns] + "\n" for line in text.splitlines())


def _prometheus() -> str:
    from lvsocf.metrics import families
    return families.from_state(time.time())


def _once(args: argparse.Namespace, out: TextIO) -> int:
    from lvsocf.cli.collect import CollectError
    if args.format == "prometheus":
        out.write(_prometheus())
        return 0
    try:
        doc = snapshot()
    except CollectError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    out.write(format_doc(doc, args.json))
    return 0


def _watch(args: argparse.Namespace, out: TextIO) -> int:
    from lvsocf.cli.collect import CollectError
    tty = out.isatty()
    while True:
        try:
            body = _prometheus() if args.format == "prometheus" else \
                format_doc(snapshot(), args.json, compact=True)
        except CollectError as exc:
            if args.json:
                body = json.dumps({"error": str(exc), "time": time.time()}) + "\n"
            else:
                body = f"{PROG}: {exc}\n"
        if not args.json and args.format != "prometheus":
            body = f"Every {args.watch:g}s: {PROG}  (Ctrl-C to stop)\n\n{body}"
            if tty:
                body = CLEAR + fit(body, shutil.get_terminal_size().columns)
            else:
                body += "\n"
        out.write(body)
        out.flush()
        time.sleep(args.watch)


def run(argv: list[str], out: TextIO | None = None) -> int:
    """`lvsocf status` main: returns the exit status."""
    out = out or sys.stdout
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:            # argparse: --help (0) or usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    if args.format == "json":
        args.json = True
    elif args.format is not None and args.json:
        print(f"{PROG}: --json and --format {args.format} conflict", file=sys.stderr)
        return 2
    if args.watch is None:
        return _once(args, out)
    try:
        return _watch(args, out)
    except KeyboardInterrupt:
        if not args.json and out.isatty():
            out.write("\n")
        return 0
