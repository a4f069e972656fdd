"""Measure the client-side CPU cost of checks (not a test; pytest does not collect it).

    .venv/bin/python tests/unit/checks/measure_cost.py [N] [BATCH]

Starts plain asyncio TCP/HTTP/HTTPS/UDP-DNS servers in a child process (so their CPU is not
counted), then runs N checks of each kind with asyncio.gather in batches of BATCH and prints
process CPU milliseconds per check (user+sys of this process only) and checks per wall second.
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time

SERVER = r'''
import asyncio, json, socket, ssl, struct, sys
RESP = (b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\nContent-Type: text/plain\r\n\r\n"
        b"hello lvsocf 1234567")
async def http(reader, writer):
    try:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(RESP)
        await writer.drain()
    except Exception:
        pass
    writer.close()
async def tcp(reader, writer):
    writer.close()
class Dns(asyncio.DatagramProtocol):
    def connection_made(self, t): self.t = t
    def datagram_received(self, q, peer):
        self.t.sendto(q[:2] + b"\x84\x00" + q[4:6] + b"\x00\x00\x00\x00\x00\x00" + q[12:], peer)
async def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    s1 = await asyncio.start_server(tcp, "127.0.0.1", 0, backlog=4096)
    s2 = await asyncio.start_server(http, "127.0.0.1", 0, backlog=4096)
    s3 = await asyncio.start_server(http, "127.0.0.1", 0, ssl=ctx, backlog=4096)
    t, _ = await asyncio.get_running_loop().create_datagram_endpoint(Dns, ("127.0.0.1", 0))
    ports = [s.sockets[0].getsockname()[1] for s in (s1, s2, s3)]
    print(json.dumps(ports + [t.get_extra_info("sockname")[1]]), flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
'''


def make_cert(d: str) -> tuple[str, str]:
    cert, key = os.path.join(d, "c.pem"), os.path.join(d, "k.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


async def measure(name: str, checker, n: int, batch: int) -> None:
    await checker.check(5)                           # warm-up (imports, TLS context)
    ok = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for start in range(0, n, batch):
        results = await asyncio.gather(*(checker.check(10) for _ in range(min(batch, n - start))))
        ok += sum(r.ok for r in results)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    print(f"{name:8s} {n} checks, {ok} ok: {cpu / n * 1000:.3f} CPU ms/check, "
          f"{n / wall:,.0f} checks/s wall (client and server share the host)")


async def via_requests(port: int, n: int, batch: int) -> None:
    import requests
    loop = asyncio.get_running_loop()

    def session_less() -> int:
        return requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code

    await loop.run_in_executor(None, session_less)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for start in range(0, n, batch):
        await asyncio.gather(*(loop.run_in_executor(None, session_less)
                               for _ in range(min(batch, n - start))))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    print(f"{'requests':8s} {n} checks (thread executor, for comparison): "
          f"{cpu / n * 1000:.3f} CPU ms/check, {n / wall:,.0f} checks/s wall")


async def main(n: int, batch: int) -> None:
    from lvsocf.checks import Target, build_checker
    with tempfile.TemporaryDirectory() as d:
        cert, key = make_cert(d)
        server = subprocess.Popen([sys.executable, "-c", SERVER, cert, key],
                                  stdout=subprocess.PIPE, text=True)
        try:
            tcp, http, https, dns = json.loads(server.stdout.readline())
            cases = [
                ("none", "none", None, {}),
                ("tcp", "tcp", tcp, {}),
                ("http", "http", http, {}),
                ("http+re", "http", http, {"receive": "hello"}),
                ("https", "https", https, {"ca_file": cert}),
                ("dns", "dns", dns, {}),
                ("ping", "ping", None, {}),
            ]
            for name, kind, port, options in cases:
                await measure(name, build_checker(kind, Target("127.0.0.1", port), options),
                              n, batch)
            if "--requests" in sys.argv:
                await via_requests(http, n, batch)
        finally:
            server.kill()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    asyncio.run(main(int(args[0]) if args else 2000, int(args[1]) if len(args) > 1 else 200))
