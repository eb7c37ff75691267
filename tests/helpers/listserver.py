"""A local HTTP server that serves list files the way real providers do, and
misbehaves on request: 304s, changing ETags, HTTP 500, slow or truncated bodies."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes = b""
    etag: str | None = None
    status: int = 200
    delay: float = 0.0  # seconds before answering
    truncate_to: int | None = None  # send only this many bytes but announce the full length
    hits: int = 0
    conditional_hits: int = 0
    headers: dict[str, str] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        route.hits += 1
        if route.delay:
            time.sleep(route.delay)
        if route.status != 200:
            self.send_response(route.status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if route.etag and self.headers.get("If-None-Match") == route.etag:
            route.conditional_hits += 1
            self.send_response(304)
            self.send_header("ETag", route.etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = route.body
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        if route.etag:
            self.send_header("ETag", route.etag)
        for k, v in route.headers.items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(body if route.truncate_to is None else body[: route.truncate_to])
            self.wfile.flush()
        except OSError:
            pass
        if route.truncate_to is not None:
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, Route]


class ListServer:
    def __init__(self) -> None:
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.routes = {}
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def serve(self, path: str, body: bytes, **kw: object) -> Route:
        route = Route(body, **kw)  # type: ignore[arg-type]
        self.server.routes[path] = route
        return route

    def __enter__(self) -> ListServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
