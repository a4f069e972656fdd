"""Real local servers for the check tests: HTTP(S) in threads, UDP echo, a DNS responder."""
from __future__ import annotations

import ipaddress
import socket
import ssl
import struct
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

# ---------------------------------------------------------------------------- TLS material


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A throwaway CA and a server certificate it signed (SAN: 127.0.0.1, ::1,
    www.example.test), made with the openssl command (argv, no shell)."""
    d = tmp_path_factory.mktemp("tls")
    files = {n: d / f"{n}.pem" for n in ("ca", "ca_key", "cert", "key", "csr", "other_ca")}
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    def openssl(*args: str | Path) -> None:
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)
    openssl("req", "-x509", *ec, "-keyout", files["ca_key"], "-out", files["ca"], "-days", "2",
            "-subj", "/CN=lvsocf test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-new", *ec, "-keyout", files["key"], "-out", files["csr"],
            "-subj", "/CN=www.example.test")
    ext = d / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1,IP:::1,DNS:www.example.test\n"
                   "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", files["csr"], "-CA", files["ca"], "-CAkey", files["ca_key"],
            "-CAcreateserial", "-out", files["cert"], "-days", "2", "-extfile", ext)
    # An unrelated CA: verifying against it must fail.
    openssl("req", "-x509", *ec, "-keyout", d / "other_key.pem", "-out", files["other_ca"],
            "-days", "2", "-subj", "/CN=other CA", "-addext", "basicConstraints=critical,CA:TRUE")
    return files


# ---------------------------------------------------------------------------- HTTP servers

BIG = b"START" + b"x" * 200_000 + b"END-OF-BIG"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def _send(self, code: int, body: bytes, head: bool, **headers: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET(head=True)

    def do_GET(self, head: bool = False) -> None:
        path = self.path
        if path == "/":
            self._send(200, b"<html>hello lvsocf</html>", head)
        elif path.startswith("/status/"):
            self._send(int(path.rsplit("/", 1)[1]), b"status page", head)
        elif path == "/redirect":
            self._send(301, b"moved", head, Location="/")
        elif path == "/host":
            self._send(200, f"host=[{self.headers['Host']}]".encode(), head)
        elif path == "/vhost":
            ok = self.headers["Host"].rsplit(":", 1)[0] == "www.example.test"
            self._send(200 if ok else 421, b"vhost page", head)
        elif path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"part one, ", b"MARKER-", b"CHUNKED", b" end"):
                self.wfile.write(b"%x;ext=1\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\nX-Trailer: 1\r\n\r\n")
        elif path == "/close":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"close-delimited MARKER-CLOSE body")
            self.close_connection = True
        elif path == "/big":
            self._send(200, BIG, head)
        elif path == "/early":
            self.send_response_only(103)
            self.send_header("Link", "</style.css>; rel=preload")
            self.end_headers()
            self._send(200, b"after early hints", head)
        elif path == "/truncated":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"only a little")
            self.close_connection = True
        else:
            self._send(404, b"not found", head)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


class _Server6(_Server):
    address_family = socket.AF_INET6


def _serve(server: ThreadingHTTPServer):
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def http_port():
    yield from _serve(_Server(("127.0.0.1", 0), Handler))


@pytest.fixture(scope="module")
def http6_port():
    yield from _serve(_Server6(("::1", 0), Handler))


@pytest.fixture(scope="module")
def https_port(tls_files):
    server = _Server(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tls_files["cert"], tls_files["key"])
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    yield from _serve(server)


# ---------------------------------------------------------------------------- plain sockets


@pytest.fixture
def silent_tcp_port():
    """Listens (so the kernel completes the handshake) but never accepts or answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def free_port(kind: int = socket.SOCK_STREAM, host: str = "127.0.0.1") -> int:
    """A port nothing listens on (bound then released)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, kind) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    return free_port()


@pytest.fixture
def closed_udp_port() -> int:
    return free_port(socket.SOCK_DGRAM)


def _udp_loop(sock: socket.socket, stop: threading.Event, reply) -> None:
    sock.settimeout(0.05)
    while not stop.is_set():
        try:
            data, peer = sock.recvfrom(65535)
        except TimeoutError:
            continue
        except OSError:
            return
        for out in reply(data):
            sock.sendto(out, peer)


def _udp_server(host: str, reply):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    stop = threading.Event()
    thread = threading.Thread(target=_udp_loop, args=(sock, stop, reply), daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(1)
        sock.close()


@pytest.fixture(scope="module")
def udp_echo_port():
    yield from _udp_server("127.0.0.1", lambda data: [data])


@pytest.fixture(scope="module")
def udp6_echo_port():
    yield from _udp_server("::1", lambda data: [data])


@pytest.fixture
def udp_silent_port():
    """A bound UDP socket that never replies (so no port unreachable either)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


# ---------------------------------------------------------------------------- DNS responder
# Written independently of lvsocf.checks.dns: parses the query itself and packs answers with
# struct, including compression pointers (0xC00C = the name in the question).

PTR_TO_QNAME = b"\xc0\x0c"


def wire(name: str) -> bytes:
    out = b""
    for label in filter(None, name.split(".")):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def rr(rtype: int, rdata: bytes, ttl: int = 300) -> bytes:
    return PTR_TO_QNAME + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


A, NS, CNAME, SOA, PTR, MX, TXT, AAAA = 1, 2, 5, 6, 12, 15, 16, 28
ZONE: dict[tuple[str, int], list[bytes]] = {
    ("www.example.test", A): [rr(A, ipaddress.IPv4Address("192.0.2.10").packed),
                              rr(A, ipaddress.IPv4Address("192.0.2.11").packed)],
    ("www.example.test", AAAA): [rr(AAAA, ipaddress.IPv6Address("2001:db8::10").packed)],
    ("example.test", SOA): [rr(SOA, b"\x03ns1" + PTR_TO_QNAME + b"\x0ahostmaster"
                               + PTR_TO_QNAME + struct.pack("!IIIII", 2024010101, 3600, 600,
                                                            86400, 300))],
    ("example.test", MX): [rr(MX, struct.pack("!H", 10) + b"\x04mail" + PTR_TO_QNAME)],
    ("example.test", NS): [rr(NS, b"\x03ns1" + PTR_TO_QNAME)],
    ("example.test", TXT): [rr(TXT, b"\x0bv=spf1 -all" + b"\x06second")],
    ("alias.example.test", CNAME): [rr(CNAME, wire("www.example.test"))],
    ("10.2.0.192.in-addr.arpa", PTR): [rr(PTR, wire("www.example.test"))],
    ("", SOA): [rr(SOA, wire("a.root-servers.test") + wire("nstld.test")
                   + struct.pack("!IIIII", 1, 2, 3, 4, 5))],
}
KNOWN = {name for name, _ in ZONE}


def dns_reply(query: bytes) -> list[bytes]:
    qid, flags = struct.unpack_from("!HH", query)
    labels, i = [], 12
    while query[i]:
        labels.append(query[i + 1:i + 1 + query[i]].decode())
        i += 1 + query[i]
    qtype, _qclass = struct.unpack_from("!HH", query, i + 1)
    question = query[12:i + 5]
    name = ".".join(labels).lower()

    def reply(rcode: int = 0, answers: list[bytes] = (), rid: int = qid,
              q: bytes = question) -> bytes:
        header = struct.pack("!HHHHHH", rid, 0x8400 | (flags & 0x0100) | rcode, 1,
                             len(answers), 0, 0)
        return header + q + b"".join(answers)

    if name == "silent.example.test":
        return []
    if name == "nx.example.test":
        return [reply(3)]
    if name == "servfail.example.test":
        return [reply(2)]
    if name == "wrongid.example.test":
        return [reply(rid=qid ^ 0x5A5A)]
    if name == "spoof.example.test":       # a wrong-id reply first, then the real one
        return [reply(rid=qid ^ 0x1111), reply(answers=ZONE[("www.example.test", A)])]
    if name == "otherq.example.test":
        return [reply(q=wire("other.example.test") + struct.pack("!HH", qtype, 1))]
    if name == "bad.example.test":        # claims one answer, carries half of one
        return [reply(answers=[rr(A, b"\x01\x02\x03\x04")[:7]])]
    if name == "loop.example.test":       # a name pointer that points at itself
        own = 12 + len(question)
        return [reply(answers=[struct.pack("!H", 0xC000 | own)
                               + struct.pack("!HHIH", A, 1, 1, 4) + b"\x01\x02\x03\x04"])]
    if (name, qtype) in ZONE:
        return [reply(answers=ZONE[(name, qtype)])]
    if name in KNOWN:
        return [reply()]                   # NODATA: NOERROR with no answers
    return [reply(3)]


@pytest.fixture(scope="module")
def dns_port():
    yield from _udp_server("127.0.0.1", dns_reply)


@pytest.fixture(scope="module")
def dns6_port():
    yield from _udp_server("::1", dns_reply)
