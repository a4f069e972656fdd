"""A lab real server: on one port, plain TCP is echoed back (the client traffic) and TLS is
answered as HTTPS (`GET /health` -> 200), so the shipped examples' https checks pass.
With a state directory: while STATE/sick exists, the health answer is 503 (the backend fails
its check but still accepts connections), and the time of every client connection accepted
is appended to STATE/accepted, so a test counts at the backend which connections reached it.

    python -m lab.backend PORT CERT KEY [STATE]
"""
from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


@dataclass(frozen=True)
class SiteCert:
    cert: Path
    key: Path


def site_certificate(workdir: Path, name: str, trust: bool = True) -> SiteCert:
    """A self-signed certificate for `name`; with trust, appended to the system CA bundle
    (only ever inside the lab VM, whose root is a throw-away overlay)."""
    cert, key = workdir / "site.crt", workdir / "site.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    if trust:
        with CA_BUNDLE.open("a") as bundle:
            bundle.write(cert.read_text())
    return SiteCert(cert, key)


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
SICK = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\nConnection: close\r\n"
        b"\r\nsick\n")


def _serve(conn: socket.socket, tls: ssl.SSLContext, state: Path | None) -> None:
    try:
        first = conn.recv(1, socket.MSG_PEEK)
        if first == b"\x16":                       # a TLS handshake: the health check
            with tls.wrap_socket(conn, server_side=True) as s:
                s.recv(4096)
                s.sendall(SICK if state and (state / "sick").exists() else OK)
            return
        if state is not None and first:
            with (state / "accepted").open("a") as log:
                log.write(f"{time.time():.3f}\n")
        while data := conn.recv(4096):
            conn.sendall(data)
    except OSError:
        pass
    finally:
        conn.close()


def main() -> None:
    port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    state = Path(sys.argv[4]) if len(sys.argv) > 4 else None
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(256)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=_serve, args=(conn, tls, state), daemon=True).start()


if __name__ == "__main__":
    main()
