"""Raw clients for the circumvention tests: what a student's tool sends, byte by
byte, where curl would not (a CONNECT target that is not the server name, raw
bytes in a tunnel, a Host header that does not parse)."""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Answer:
    status: int  # 0: the connection was closed or refused before any HTTP answer
    headers: dict[str, str]
    body: bytes

    @property
    def reason(self) -> str:
        return self.headers.get("x-schoolgate-reason", "")


def _read_answer(sock: socket.socket | ssl.SSLSocket, limit: int = 1 << 20) -> Answer:
    data = b""
    try:
        while b"\r\n\r\n" not in data and len(data) < limit:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/"):
            return Answer(0, {}, data)
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0") or 0)
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return Answer(int(lines[0].split()[1]), headers, body)
    except (ConnectionError, ssl.SSLError, TimeoutError, OSError):
        return Answer(0, {}, data)


def open_proxy(port: int, source: str = "127.0.0.1", timeout: float = 10.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))
    return sock


def connect(port: int, target: str, source: str) -> tuple[socket.socket, Answer]:
    """`CONNECT target` through the proxy; the socket stays open for what comes next."""
    sock = open_proxy(port, source)
    sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    return sock, _read_answer(sock)


def tls(sock: socket.socket, sni: str | None, ca: Path | None) -> ssl.SSLSocket:
    """A TLS handshake over the tunnel, naming `sni` (None: no server name at all)."""
    ctx = ssl.create_default_context(cafile=str(ca)) if ca else ssl._create_unverified_context()
    if sni is None or ca is None:
        ctx.check_hostname = False
        if ca is None:
            ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx.wrap_socket(sock, server_hostname=sni)


def request(sock: socket.socket | ssl.SSLSocket, host: str, path: str = "/", method: str = "GET",
            extra: str = "") -> Answer:
    sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/html\r\n{extra}"
                 f"Connection: close\r\n\r\n".encode())
    return _read_answer(sock)


def plain(port: int, source: str, target_url: str, host: str, extra: str = "") -> Answer:
    """An absolute-form proxy request for `target_url` with this Host header."""
    sock = open_proxy(port, source)
    try:
        sock.sendall(f"GET {target_url} HTTP/1.1\r\nHost: {host}\r\nAccept: text/html\r\n{extra}"
                     f"Connection: close\r\n\r\n".encode())
        return _read_answer(sock)
    finally:
        sock.close()


def closed_without_relaying(sock: socket.socket | ssl.SSLSocket, send: bytes, wait: float = 5.0) -> bool:
    """Send raw bytes into a tunnel: True if the proxy closes it without answering anything."""
    sock.settimeout(wait)
    try:
        sock.sendall(send)
        got = sock.recv(65536)
    except (ConnectionError, ssl.SSLError, OSError):
        return True
    return got == b""


def client_hello(sni: str) -> bytes:
    """A minimal TLS ClientHello whose server name is `sni` as written, even an IP
    address (which ssl, following the RFC, would never send)."""
    import os
    import struct

    name = sni.encode()
    server_name = struct.pack("!BH", 0, len(name)) + name
    sni_ext = struct.pack("!HHH", 0, len(server_name) + 2, len(server_name)) + server_name
    suites = bytes([0x13, 0x01, 0xC0, 0x2F, 0x00, 0x9C])
    body = (b"\x03\x03" + os.urandom(32) + b"\x00" + struct.pack("!H", len(suites)) + suites + b"\x01\x00"
            + struct.pack("!H", len(sni_ext)) + sni_ext)
    handshake = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake


def tls_alert_or_close(sock: socket.socket, hello: bytes, wait: float = 5.0) -> bool:
    """Send a ClientHello: True if the answer is a TLS alert or the connection closes."""
    sock.settimeout(wait)
    try:
        sock.sendall(hello)
        got = sock.recv(5)
    except (ConnectionError, OSError):
        return True
    return got == b"" or got[:1] == b"\x15"
