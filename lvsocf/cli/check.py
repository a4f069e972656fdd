"""`lvsocf check`: run one health check by hand, with the engine's code and options."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from lvsocf.checks import CHECK_KINDS, CheckConfigError, CheckResult, Target, build_checker
from lvsocf.checks.base import release
from lvsocf.cli.argtypes import bounded
from lvsocf.cli.table import latency

PROG = "lvsocf check"

DESCRIPTION = f"""\
Run one health check against ADDRESS[:PORT] the way the lvsocf check engine runs it for an
IPVSRealServer (same code, same option names as the agent parameters, same validation), and
print the verdict, the latency and, when it failed, why.

TYPE is one of: {", ".join(CHECK_KINDS)}.
ADDRESS is an IP address (checks never resolve names): 192.0.2.10:80, [2001:db8::10]:443,
or without a port where the check has a default (http 80, https 443, dns 53) or needs none
(ping, external, none)."""

EPILOG = """\
options map to the IPVSRealServer parameters: --request = request, --status-codes =
status_codes, --no-tls-verify = tls_verify=false, --timeout = check_timeout, --interval =
check_interval (default here 1s, not 5s), and so on; options a check type does not use are
ignored, as in the agent.

exit status:
  0  every check succeeded
  1  a check failed (the reason is printed)
  2  usage error or an invalid option (the message names it)

examples:
  lvsocf check tcp 192.0.2.10:22
  lvsocf check http 192.0.2.10:8080 --request /health --receive 'ok' --status-codes 200,204
  lvsocf check https [2001:db8::10] --virtualhost www.example.com --ca-file /etc/ssl/ca.pem
  lvsocf check dns 192.0.2.53 --dns-query example.com --dns-type A --receive 192.0.2.
  lvsocf check udp 192.0.2.10:1812 --udp-payload 01 --udp-expect 02
  lvsocf check external 192.0.2.10:25 --external-command '/usr/local/bin/smtp-ok --quick'
  lvsocf check --check-type ping 192.0.2.10 --count 5 --interval 0.2"""

# (flag, agent parameter, help)
OPTIONS = (
    ("--http-method", "http_method", "http/https: GET (default) or HEAD"),
    ("--request", "request", "http/https: the path to request (default /)"),
    ("--virtualhost", "virtualhost", "http/https: Host header and TLS server name"),
    ("--status-codes", "status_codes", "http/https: accepted codes (default 200-299), "
                                       "e.g. 200,301-302"),
    ("--receive", "receive", "http/https/dns: regular expression the body/answer must match"),
    ("--ca-file", "ca_file", "https: PEM CA bundle used instead of the system store"),
    ("--udp-payload", "udp_payload", "udp: payload to send, hex"),
    ("--udp-expect", "udp_expect", "udp: the reply must start with these bytes, hex"),
    ("--dns-query", "dns_query", "dns: name to ask for (default .)"),
    ("--dns-type", "dns_type", "dns: A, AAAA, NS, SOA (default), MX, TXT, CNAME, PTR"),
    ("--external-command", "external_command",
     "external: command line (shell-quoted words, run without a shell; exit 0 = up)"),
)
PARAM_TO_FLAG = {param: flag for flag, param, _ in OPTIONS} | {
    "tls_verify": "--tls-verify", "reuse_connection": "--reuse-connection",
    "check_type": "TYPE", "check_address": "ADDRESS",
    "check_port": "PORT"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description=DESCRIPTION, epilog=EPILOG,
        usage=f"{PROG} [--check-type] TYPE ADDRESS[:PORT] [options]",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("words", nargs="*", metavar="TYPE ADDRESS[:PORT]",
                        help="the check type and the target (TYPE may be given with "
                             "--check-type instead)")
    parser.add_argument("--check-type", metavar="TYPE", help="the check type")
    for flag, param, text in OPTIONS:
        parser.add_argument(flag, dest=param, metavar="VALUE", help=text)
    parser.add_argument("--tls-verify", dest="tls_verify", action=argparse.BooleanOptionalAction,
                        help="https: verify the certificate chain and name (default: verify)")
    parser.add_argument("--reuse-connection", dest="reuse_connection",
                        action=argparse.BooleanOptionalAction,
                        help="http with --count: send the next request on the connection of "
                             "the last one if the server keeps it open (default: no)")
    parser.add_argument("--timeout", type=_seconds, default=3.0, metavar="SECONDS",
                        help="give up after SECONDS (default 3, like check_timeout)")
    parser.add_argument("--count", type=_count, default=1, metavar="N",
                        help="run the check N times (default 1)")
    parser.add_argument("--interval", type=_seconds, default=1.0, metavar="SECONDS",
                        help="pause between checks with --count (default 1)")
    parser.add_argument("--json", action="store_true",
                        help="print {type, address, port, ok, results: [{ok, latency, "
                             "detail}]} as JSON")
    return parser


_seconds = bounded(float, 0, 3600, "a number of seconds", " seconds", low_open=True)
_count = bounded(int, 1, 100000, "a whole number")


def parse_target(text: str) -> Target:
    """'192.0.2.1:80', '[2001:db8::1]:80', '2001:db8::1', '192.0.2.1' -> Target.
    Raises ValueError; the address itself is validated by the check (as in the engine)."""
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"expected [IPv6]:PORT, got {text!r}")
        port_text = rest[1:] if rest else None
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, None
    if not host:
        raise ValueError(f"no address in {text!r}")
    if port_text is None:
        return Target(host, None)
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"port: expected 1-65535, got {port_text!r}")
    return Target(host, int(port_text))


def _flagged(message: str) -> str:
    """'request: bad path' -> '--request: bad path' (CheckConfigError names the parameter)."""
    name, sep, rest = message.partition(":")
    if sep and name in PARAM_TO_FLAG:
        return f"{PARAM_TO_FLAG[name]}:{rest}"
    return message


def _line(kind: str, target: Target, result: CheckResult) -> str:
    where = _where(target)
    if result.ok:
        return f"UP: {kind} check of {where} succeeded in {latency(result.latency)}" \
               f" ({result.detail})"
    return f"DOWN: {kind} check of {where} failed after {latency(result.latency)}: " \
           f"{result.detail}"


def _where(target: Target) -> str:
    if target.port is None:
        return target.address
    host = f"[{target.address}]" if ":" in target.address else target.address
    return f"{host}:{target.port}"


def _summary(results: list[CheckResult]) -> str:
    ok = sum(r.ok for r in results)
    lat = [r.latency for r in results]
    return (f"{len(results)} checks: {ok} ok, {len(results) - ok} failed; latency min "
            f"{latency(min(lat))} avg {latency(sum(lat) / len(lat))} max "
            f"{latency(max(lat))}")


def run(argv: list[str], out: TextIO | None = None) -> int:
    """`lvsocf check` main: returns the exit status."""
    out = out or sys.stdout
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        words = list(args.words)
        if args.check_type is None:
            if len(words) != 2:
                parser.error("expected TYPE ADDRESS[:PORT] (or --check-type TYPE ADDRESS)")
            kind, where = words
        else:
            if len(words) != 1:
                parser.error("expected one ADDRESS[:PORT] with --check-type")
            kind, where = args.check_type, words[0]
        try:
            target = parse_target(where)
        except ValueError as exc:
            parser.error(f"ADDRESS: {exc}")
        options: dict[str, Any] = {param: getattr(args, param) for _, param, _ in OPTIONS
                                   if getattr(args, param) is not None}
        for flag in ("tls_verify", "reuse_connection"):     # booleans, as in a record
            if getattr(args, flag) is not None:
                options[flag] = getattr(args, flag)
        try:
            checker = build_checker(kind, target, options)
        except CheckConfigError as exc:
            if str(exc).startswith("check_port: this check needs a port"):
                parser.error(f"ADDRESS: a {kind} check needs a port: ADDRESS:PORT")
            parser.error(_flagged(str(exc)))
    except SystemExit as exc:            # argparse: --help (0) or usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    results = _run_checks(checker, args, kind, target, out)
    if args.json:
        doc: dict[str, Any] = {"type": kind, "address": target.address, "port": target.port,
                               "ok": all(r.ok for r in results),
                               "results": [{"ok": r.ok, "latency": r.latency, "detail": r.detail}
                                           for r in results]}
        out.write(json.dumps(doc, sort_keys=True) + "\n")
    elif len(results) > 1:
        out.write(_summary(results) + "\n")
    return 0 if all(r.ok for r in results) else 1


def _run_checks(checker: Any, args: argparse.Namespace, kind: str, target: Target,
                out: TextIO) -> list[CheckResult]:
    import asyncio

    async def loop() -> list[CheckResult]:
        results = []
        for index in range(args.count):
            if index:
                await asyncio.sleep(args.interval)
            result = await checker.check(args.timeout)
            results.append(result)
            if not args.json:
                prefix = f"[{index + 1}/{args.count}] " if args.count > 1 else ""
                out.write(prefix + _line(kind, target, result) + "\n")
                out.flush()
        release(checker)
        return results

    return asyncio.run(loop())
