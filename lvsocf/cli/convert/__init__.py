"""`lvsocf convert`: ldirectord.cf / keepalived.conf -> crmsh or pcs configuration.

Entry point: run(argv) -> exit status (0 converted, possibly with warnings; 2 bad usage or
bad input, reported as `FILE:LINE: error: ...`).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass

from . import crm, keepalived, ldirectord, pcs
from .diag import ConvertError, Diagnostics
from .model import SyncDaemon
from .plan import Plan, PlanOptions, build_plan

FORMATS = ("ldirectord", "keepalived")
TARGETS = ("crm", "pcs")

_DESCRIPTION = """\
Convert an ldirectord configuration (ldirectord.cf) or the LVS part of a keepalived.conf
into Pacemaker resources of the lvsocf agents (ocf:lvsocf:IPVSService, IPVSRealServer,
IPVSSync) plus ocf:heartbeat:IPaddr2 for each VIP:

  hot standby: every service and every real server a clone, on every director, each real
  server where its service runs and after it; one IPaddr2 per VIP address, not cloned,
  where its services run and after them; keepalived lvs_sync_daemon (or
  --sync-interface): an IPVSSync promotable clone, its Promoted instance and the other
  VIPs colocated with the first VIP, every VIP ordered after the promotion. A failed
  service moves the VIP (migration-threshold=1, failure-timeout=10s).

Whatever cannot be carried over is reported on stderr as FILE:LINE: warning: ... and
repeated in the header of the output."""

_EPILOG = """\
outputs:
  --to crm   crmsh configuration, load it with:  crm configure load update OUT
  --to pcs   shell script of pcs commands that edit a copy of the CIB and push it once:
             sh OUT

mapping notes (details: lvsocf/cli/convert/README.md):
  rise=1 always (both tools re-add a real server after one good check);
  fall = ldirectord failurecount, keepalived retry + 1 (the failure plus its retries);
  failure_action = quiescent for quiescent=yes / inhibit_on_failure, else remove;
  checks lvsocf lacks (ldirectord smtp, ftp, sql..., keepalived SMTP/BFD/FILE_CHECK)
  become a TCP connect check (ping for UDP services), with a warning.

exit status: 0 converted (warnings possible), 2 usage error or bad input (FILE:LINE: error)

examples:
  lvsocf convert /etc/ha.d/ldirectord.cf --to crm -o lvs.crm
  lvsocf convert /etc/keepalived/keepalived.conf --to pcs -o lvs.sh
  lvsocf convert ldirectord.cf --to pcs --sync-interface eth1 --syncid 7"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lvsocf convert", description=_DESCRIPTION, epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", metavar="FILE",
                        help="ldirectord.cf or keepalived.conf to convert ('-' reads stdin)")
    parser.add_argument("--to", choices=TARGETS, required=True,
                        help="output: crmsh configuration or pcs shell script")
    parser.add_argument("--format", choices=(*FORMATS, "auto"), default="auto",
                        help="input format (default: auto, from the content and file name)")
    parser.add_argument("-o", "--output", metavar="OUT",
                        help="write the result to OUT instead of stdout")
    parser.add_argument("--sync-interface", metavar="IFACE",
                        help="add an IPVSSync clone on IFACE (overrides the source's sync "
                             "daemon; ldirectord has none)")
    parser.add_argument("--syncid", type=int, metavar="N",
                        help="sync id 0-255 for --sync-interface")
    parser.add_argument("--cidr-netmask", type=int, metavar="BITS",
                        help="prefix length for IPv4 VIPs whose netmask the source does not give")
    parser.add_argument("--prefix", default="", metavar="STR",
                        help="prepend STR to every resource and constraint id")
    return parser


@dataclass
class Result:
    text: str
    diags: Diagnostics
    source_format: str
    plan: Plan


def detect_format(text: str, filename: str) -> str | None:
    ld = re.search(r"(?m)^virtual6?\s*=", text)
    ka = re.search(r"(?m)^\s*(virtual_server|global_defs|vrrp_instance|virtual_server_group)\b",
                   text)
    if ld and not ka:
        return "ldirectord"
    if ka and not ld:
        return "keepalived"
    name = filename.rsplit("/", 1)[-1].lower()
    if "ldirectord" in name or name.endswith(".cf"):
        return "ldirectord"
    if "keepalived" in name:
        return "keepalived"
    if ld and ka:
        return "ldirectord" if ld.start() < ka.start() else "keepalived"
    return None


def convert(text: str, filename: str, to: str, fmt: str = "auto",
            options: PlanOptions | None = None, diags: Diagnostics | None = None) -> Result:
    """Convert one configuration; raises ConvertError on bad input."""
    diags = diags or Diagnostics(filename)
    if fmt == "auto":
        detected = detect_format(text, filename)
        if detected is None:
            diags.error(None, "cannot tell ldirectord from keepalived: use --format")
        fmt = detected
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        diags.error(line, "NUL byte in the configuration")
    parser = ldirectord if fmt == "ldirectord" else keepalived
    config = parser.parse(text, diags)
    if not config.services:
        diags.warn(None, "no virtual services found")
    plan = build_plan(config, diags, options)
    body = crm.render(plan, diags) if to == "crm" else pcs.render(plan)
    return Result(_header(filename, fmt, to, diags) + body, diags, fmt, plan)


def _header(filename: str, fmt: str, to: str, diags: Diagnostics) -> str:
    lines = ["#!/bin/sh"] if to == "pcs" else []
    lines.append(f"# Generated by `lvsocf convert` from {filename} ({fmt}); review it first.")
    if to == "crm":
        lines.append("# Load: crm configure load update THIS_FILE")
    else:
        lines.append("# Run: sh THIS_FILE  (edits a copy of the CIB, then pushes it once)")
    lines.append("# Hot standby: every director loads every service and real server (clones); "
                 "the VIPs move.")
    lines.append("# Directors that are also DR real servers: add lvs_support=true to the "
                 "IPaddr2 VIPs and a sync")
    lines.append("# daemon, whose backup_only stops the loop, ordered before the services "
                 "(crm-examples/3-dr-directors).")
    warnings = diags.format_warnings()
    if warnings:
        lines.append(f"# {len(warnings)} warning(s), things not carried over:")
        lines.extend(f"#   {w}" for w in warnings)
    return "\n".join(lines) + "\n\n"


def _read(path: str, diags: Diagnostics) -> str:
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as fh:
                data = fh.read()
    except OSError as exc:
        diags.error(None, f"cannot read: {exc.strerror or exc}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        diags.warn(None, "not UTF-8: read as Latin-1")
        return data.decode("latin-1")


def _options(args: argparse.Namespace, parser: argparse.ArgumentParser) -> PlanOptions:
    if args.prefix and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", args.prefix):
        parser.error("--prefix must start with a letter or _ and hold only letters, digits, . _ -")
    if args.syncid is not None and not 0 <= args.syncid <= 255:
        parser.error("--syncid must be 0-255")
    if args.syncid is not None and not args.sync_interface:
        parser.error("--syncid needs --sync-interface")
    if args.cidr_netmask is not None and not 1 <= args.cidr_netmask <= 32:
        parser.error("--cidr-netmask must be 1-32")
    sync = None
    if args.sync_interface:
        params = {"interface": args.sync_interface}
        if args.syncid is not None:
            params["syncid"] = str(args.syncid)
        sync = SyncDaemon(None, params)
    return PlanOptions(prefix=args.prefix, cidr_netmask=args.cidr_netmask, sync=sync)


def run(argv: list[str]) -> int:
    """`lvsocf convert` main: returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        options = _options(args, parser)
    except SystemExit as exc:  # argparse: --help (0) or usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    name = "<stdin>" if args.file == "-" else args.file
    diags = Diagnostics(name)
    try:
        text = _read(args.file, diags)
        result = convert(text, name, args.to, args.format, options, diags)
    except ConvertError as err:
        print(diags.format_error(err), file=sys.stderr)
        return 2
    for line in result.diags.format_warnings():
        print(line, file=sys.stderr)
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as fh:
                fh.write(result.text)
        except OSError as exc:
            print(f"lvsocf convert: cannot write {args.output}: {exc.strerror or exc}",
                  file=sys.stderr)
            return 2
    else:
        sys.stdout.write(result.text)
    return 0
