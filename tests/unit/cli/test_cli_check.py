"""`lvsocf check` against real servers on 127.0.0.1: verdicts, latency, reasons, exit codes."""
from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lvsocf.cli import check
from lvsocf.cli.main import main


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections = 0             # seen by the server, across all instances

    def setup(self):
        type(self).connections += 1
        super().setup()

    def log_message(self, format, *args):  # noqa: A002
        pass

    def do_GET(self):
        if self.path == "/health":
            code, body = 200, b"all good"
        elif self.path == "/teapot":
            code, body = 418, b"short and stout"
        else:
            code, body = 404, b"nope"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def http_port():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def tcp_port():
    """A listening TCP socket: the kernel completes the handshake, nobody needs to accept."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


@pytest.fixture
def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_tcp_ok(tcp_port, capsys):
    assert main(["check", "tcp", f"127.0.0.1:{tcp_port}"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"UP: tcp check of 127.0.0.1:{tcp_port} succeeded in ")
    assert out.rstrip().endswith("ms (connected)")


def test_tcp_closed_port_fails_with_reason(closed_port, capsys):
    assert main(["check", "tcp", f"127.0.0.1:{closed_port}"]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"DOWN: tcp check of 127.0.0.1:{closed_port} failed after ")
    assert out.rstrip().endswith(": Connection refused")


def test_http_ok_with_options(http_port, capsys):
    argv = ["check", "http", f"127.0.0.1:{http_port}", "--request", "/health",
            "--receive", "all g..d", "--status-codes", "200", "--virtualhost", "www.example.test"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"UP: http check of 127.0.0.1:{http_port} succeeded in ")
    assert out.rstrip().endswith("(status 200)")


def test_http_failures_say_why(http_port, capsys):
    assert main(["check", "http", f"127.0.0.1:{http_port}", "--request", "/teapot"]) == 1
    assert "failed after" in (out := capsys.readouterr().out) and "status 418 not in 200-299" \
        in out
    assert main(["check", "--check-type", "http", f"127.0.0.1:{http_port}", "--request",
                 "/health", "--receive", "bad news"]) == 1
    assert "body does not match receive" in capsys.readouterr().out
    assert main(["check", "http", f"127.0.0.1:{http_port}", "--request", "/teapot",
                 "--status-codes", "418"]) == 0
    capsys.readouterr()


def test_count_and_json(http_port, closed_port, capsys):
    assert main(["check", "http", f"127.0.0.1:{http_port}", "--request", "/health",
                 "--count", "3", "--interval", "0.01"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line[:6] for line in lines[:3]] == ["[1/3] ", "[2/3] ", "[3/3] "]
    assert lines[3].startswith("3 checks: 3 ok, 0 failed; latency min ")
    assert main(["check", "tcp", f"127.0.0.1:{closed_port}", "--json", "--count", "2",
                 "--interval", "0.01"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False and doc["type"] == "tcp" and doc["port"] == closed_port
    assert [r["detail"] for r in doc["results"]] == ["Connection refused"] * 2
    assert all(isinstance(r["latency"], float) for r in doc["results"])


@pytest.mark.parametrize("flag, connections", [("--reuse-connection", 1),
                                               ("--no-reuse-connection", 3)])
def test_reuse_connection_with_count(http_port, capsys, flag, connections):
    before = Handler.connections
    assert main(["check", "http", f"127.0.0.1:{http_port}", "--request", "/health",
                 "--count", "3", "--interval", "0.01", flag]) == 0
    assert "3 checks: 3 ok" in capsys.readouterr().out
    assert Handler.connections - before == connections


def test_timeout_is_honoured(capsys):
    """A UDP check with udp_expect against a silent port waits exactly the timeout."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        assert main(["check", "udp", f"127.0.0.1:{port}", "--udp-payload", "01",
                     "--udp-expect", "02", "--timeout", "0.2"]) == 1
    assert "no reply within 0.2s" in capsys.readouterr().out


def test_none_and_ipv6_forms(tcp_port, capsys):
    assert main(["check", "none", "127.0.0.1"]) == 0
    with socket.socket(socket.AF_INET6) as sock:
        sock.bind(("::1", 0))
        sock.listen(4)
        port = sock.getsockname()[1]
        assert main(["check", "tcp", f"[::1]:{port}"]) == 0
    assert f"tcp check of [::1]:{port} succeeded" in capsys.readouterr().out


@pytest.mark.parametrize("argv, words", [
    (["tcp", "127.0.0.1"], "ADDRESS: a tcp check needs a port"),
    (["tcp", "127.0.0.1:99999"], "port: expected 1-65535"),
    (["tcp", "[::1"], "expected [IPv6]:PORT"),
    (["tcp", "localhost:80"], "ADDRESS: expected an IPv4 or IPv6 address"),
    (["smtp", "127.0.0.1:25"], "TYPE: expected one of none, ping, tcp"),
    (["http", "127.0.0.1:80", "--request", "/a b"], "--request: a path without spaces"),
    (["http", "127.0.0.1:80", "--status-codes", "2xx"], "--status-codes: expected codes"),
    (["http", "127.0.0.1:80", "--http-method", "POST"], "--http-method: expected GET or HEAD"),
    (["http", "127.0.0.1:80", "--receive", "("], "--receive: invalid regular expression"),
    (["https", "127.0.0.1", "--ca-file", "/nonexistent"], "--ca-file: '/nonexistent' is not"),
    (["udp", "127.0.0.1:53", "--udp-payload", "zz"], "--udp-payload: expected hex bytes"),
    (["dns", "127.0.0.1", "--dns-type", "ANY"], "--dns-type"),
    (["external", "127.0.0.1"], "--external-command: required"),
    (["tcp", "127.0.0.1:80", "--timeout", "0"], "--timeout"),
    (["tcp", "127.0.0.1:80", "--count", "zero"], "--count"),
    (["tcp"], "expected TYPE ADDRESS[:PORT]"),
    (["--check-type", "tcp"], "expected one ADDRESS[:PORT] with --check-type"),
    (["--check-type", "tcp", "tcp", "127.0.0.1:80"], "expected one ADDRESS"),
    (["tcp", "127.0.0.1:80", "--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_options_exit_2_naming_the_option(argv, words, capsys):
    assert main(["check", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("usage: lvsocf check")
    assert words in captured.err
    assert "Traceback" not in captured.err


def test_option_names_match_the_agent_parameters():
    """Every option the check kinds declare is reachable from the command line."""
    from lvsocf.checks import spec
    read = set(spec.OPTION_NAMES)
    assert {"tls_verify", "dns_type", "external_command", "check_port"} <= read
    assert read <= set(check.PARAM_TO_FLAG), read - set(check.PARAM_TO_FLAG)
    for param, flag in check.PARAM_TO_FLAG.items():
        if flag.startswith("--"):
            assert flag == "--" + param.replace("_", "-")


def test_tls_verify_flags_reach_the_checker(monkeypatch):
    seen = {}

    def fake_build(kind, target, options):
        seen.update(options)
        raise check.CheckConfigError("tls_verify: stop here")
    monkeypatch.setattr(check, "build_checker", fake_build)
    assert check.run(["https", "127.0.0.1", "--no-tls-verify"]) == 2
    assert seen == {"tls_verify": False}        # a boolean, as in a record
    seen.clear()
    assert check.run(["https", "127.0.0.1", "--tls-verify", "--ca-file", "/x"]) == 2
    assert seen == {"tls_verify": True, "ca_file": "/x"}


@pytest.mark.parametrize("text, address, port", [
    ("192.0.2.1:80", "192.0.2.1", 80), ("192.0.2.1", "192.0.2.1", None),
    ("[2001:db8::1]:443", "2001:db8::1", 443), ("[2001:db8::1]", "2001:db8::1", None),
    ("2001:db8::1", "2001:db8::1", None), ("fe80::1%eth0", "fe80::1%eth0", None),
])
def test_parse_target(text, address, port):
    target = check.parse_target(text)
    assert (target.address, target.port) == (address, port)
