"""A local upstream that answers every host: it acts as an HTTP proxy for
mitmproxy's upstream mode (absolute-form requests and CONNECT + TLS), so the
proxy under test can reach `anything.test` without DNS or the internet."""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def make_cert(dirpath: Path, name_: str = "upstream", dns: tuple[str, ...] = ("*.test",),
              ips: tuple[str, ...] = ()) -> tuple[Path, Path]:
    """A self-signed certificate (its own CA) for a test server: (cert, key) PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name_}.test")])
    alt: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    alt += [x509.IPAddress(ipaddress.ip_address(a)) for a in ips]
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = dirpath / f"{name_}-cert.pem", dirpath / f"{name_}-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption())
    )
    return cert_path, key_path


def page_body(host: str, path: str, scheme: str) -> bytes:
    """What the upstream serves: tests compare the bytes received through the proxy."""
    return json.dumps({"served_by": "upstream", "host": host, "path": path, "scheme": scheme},
                      sort_keys=True).encode() + b"\n"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    scheme = "http"
    server: _Upstream

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        request_body = self.rfile.read(length) if length else b""
        target = self.path
        if "://" in target:  # absolute form from a proxy
            rest = target.split("://", 1)[1]
            host, _, path = rest.partition("/")
            path = "/" + path
        else:
            host, path = self.headers.get("host", ""), target
        host = host.split(":")[0]
        self.server.seen.append((self.scheme, host, path, dict(self.headers.items()), request_body))
        ctype, body = self.server.pages.get(host + path.split("?")[0], ("application/json", None))
        if ctype.startswith("redirect:"):
            self.send_response(302)
            self.send_header("Location", ctype[len("redirect:"):])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        stream = self.server.streams.get(host + path.split("?")[0])
        if stream is not None:
            headers, chunks = stream()
            self.send_response(200)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for chunk in chunks:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                self.close_connection = True  # the proxy stopped reading: the stream ends here
            return
        if body is None:
            body = page_body(host, path, self.scheme)
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Upstream", "yes")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_HEAD = do_PUT = _answer

    def do_CONNECT(self) -> None:
        self.server.connects.append(self.path)
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        try:
            tls = self.server.tls.wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            self.close_connection = True
            return
        try:
            _TLSHandler(tls, self.client_address, self.server)
        except OSError:
            pass
        finally:
            tls.close()
        self.close_connection = True


class _TLSHandler(_Handler):
    scheme = "https"


class _Upstream(ThreadingHTTPServer):
    daemon_threads = True
    tls: ssl.SSLContext
    seen: list[tuple[str, str, str, dict[str, str], bytes]]
    connects: list[str]  # CONNECT targets asked of it (host:port)
    pages: dict[str, tuple[str, bytes]]  # "host/path" → (content type, body) instead of the echo
    streams: dict[str, Any]  # "host/path" → () → (headers, chunks): a chunked answer


class Upstream:
    def __init__(self, workdir: Path):
        cert, key = make_cert(workdir)
        self.server = _Upstream(("127.0.0.1", 0), _Handler)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        ctx.set_alpn_protocols(["http/1.1"])
        self.server.tls = ctx
        self.server.seen = []
        self.server.connects = []
        self.server.pages = {}
        self.server.streams = {}
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def seen(self) -> list[tuple[str, str, str, dict[str, str], bytes]]:
        return self.server.seen

    def serve(self, host_path: str, content_type: str, body: bytes) -> None:
        """Answer `host/path` with this body instead of the JSON echo."""
        self.server.pages[host_path] = (content_type, body)

    def stream(self, host_path: str, make: Any) -> None:
        """Answer `host/path` chunked: `make()` gives (headers, an iterable of chunks)."""
        self.server.streams[host_path] = make

    def redirect(self, host_path: str, location: str) -> None:
        """Answer `host/path` with a 302 to `location`."""
        self.server.pages[host_path] = (f"redirect:{location}", b"")

    @property
    def connects(self) -> list[str]:
        return self.server.connects

    def contacted(self, host: str) -> bool:
        """Whether any request or CONNECT for `host` reached this upstream."""
        return any(s[1] == host for s in self.seen) or any(c.rsplit(":", 1)[0] == host for c in self.connects)

    def __enter__(self) -> Upstream:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
