"""Test sites for the gateway tests, run inside the server namespace:
HTTP on 80 and HTTPS on 443 answering every *.test host, plus UDP and TCP
listeners that record what reaches them (to prove what the gateway drops).

    python -m tests.helpers.netns_server WORKDIR
"""

from __future__ import annotations

import socket
import socketserver
import ssl
import sys
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

from tests.helpers.upstream import _Handler, _TLSHandler, make_cert


class Echo(_Handler):
    pass


def serve_http(server: ThreadingHTTPServer) -> None:
    server.serve_forever()


def main() -> None:
    work = Path(sys.argv[1])
    cert, key = make_cert(work)
    seen_file = work / "seen.log"

    class Recorder(socketserver.BaseRequestHandler):
        def handle(self) -> None:  # TCP or UDP: record the port something arrived on
            with open(seen_file, "a") as f:
                f.write(f"{self.server.server_address[1]}\n")

    plain = ThreadingHTTPServer(("0.0.0.0", 80), Echo)
    plain.seen, plain.pages, plain.streams, plain.connects = [], {}, {}, []  # type: ignore[attr-defined]
    tls = ThreadingHTTPServer(("0.0.0.0", 443), _TLSHandler)
    tls.seen, tls.pages, tls.streams, tls.connects = [], {}, {}, []  # type: ignore[attr-defined]
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
    servers: list[socketserver.BaseServer] = [plain, tls]
    for port in (443, 4443):
        servers.append(socketserver.ThreadingUDPServer(("0.0.0.0", port), Recorder))
    for port in (853, 8530):
        s = socketserver.ThreadingTCPServer(("0.0.0.0", port), Recorder)
        s.allow_reuse_address = True
        servers.append(s)
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    socket.setdefaulttimeout(10)
    main()
