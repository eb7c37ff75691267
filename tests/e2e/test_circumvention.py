"""How the filter resists circumvention: one test per trick a student tries.

Each test is a trick, sent through the real proxy from a student's address, and
asserts what the child sees and that the site was never contacted (the local
upstream records every request and CONNECT it gets). Read as a list, this file
is what the filter withstands (docs/gateway.md, "How the filter resists
circumvention").

Addresses: 127.0.0.7 grade 7 (`tls: intercept`), 127.0.0.40 a grade-7 lab in
`tls: sni`, 127.0.0.41 one in `tls: selective`, 127.0.0.42 a grade-11 club with
port 25565 open, 127.0.0.20 staff.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from addons.core.settings import Settings
from tests.conftest import proxy_args
from tests.helpers.proxy import ProxyProcess
from tests.helpers.trees import CLIENTS_YAML, LISTS, make_tree
from tests.helpers.tricks import (
    client_hello,
    closed_without_relaying,
    connect,
    plain,
    request,
    tls,
    tls_alert_or_close,
)
from tests.helpers.upstream import Upstream

pytestmark = pytest.mark.e2e

BANK = "vietcombank.com.vn"  # in blocklists/passthrough.txt: never decrypted
LISTED_IP = "203.0.113.9"  # on the adult list of this tree
LOCKED_IP = "203.0.113.66"  # on a locked list: blocked for staff too
STUDENT, SNI_LAB, SELECTIVE_LAB, CLUB, STAFF = "127.0.0.7", "127.0.0.40", "127.0.0.41", "127.0.0.42", "127.0.0.20"

LABS = """\
groups:
  lab-sni: {inherits: grade-7, tls: sni}
  lab-selective: {inherits: grade-7, tls: selective}
  club: {inherits: grade-11, open_ports: [25565/tcp]}
"""


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    base = tmp_path_factory.mktemp("tricks")
    lists = dict(LISTS)
    lists["adult/domains"] += f"{LISTED_IP}\n"
    lists["csam/domains"] += f"{LOCKED_IP}\n"
    clients = CLIENTS_YAML + (f"  - {{network: {SNI_LAB}/32, group: lab-sni}}\n"
                              f"  - {{network: {SELECTIVE_LAB}/32, group: lab-selective}}\n"
                              f"  - {{network: {CLUB}/32, group: club}}\n")
    policies, blocklists = make_tree(base, lists, clients)
    (policies / "labs.yaml").write_text(LABS, encoding="utf-8")
    return Settings(policies_dir=str(policies), blocklists_dir=str(blocklists), data_dir=str(base / "data"),
                    reload_interval=0.2, metrics_port=0, incident_batch_seconds=0.1, dashboard_port=0)


@pytest.fixture(scope="module")
def proxy(tree: Settings, upstream: Upstream) -> Iterator[ProxyProcess]:
    proc = ProxyProcess(proxy_args(tree, upstream)).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def ca(tree: Settings) -> Path:
    return Path(tree.data_dir) / "ca" / "mitmproxy-ca-cert.pem"


def handshake_refused(sock: socket.socket, sni: str, ca: Path | None) -> bool:
    try:
        tls(sock, sni, ca).close()
    except (ssl.SSLError, ConnectionError, OSError):
        return True
    finally:
        sock.close()
    return False


# --- 1. The CONNECT target and the TLS server name differ --------------------------------

def test_blocked_connect_target_with_a_bank_server_name_is_not_passed_through(proxy, upstream, ca) -> None:  # type: ignore[no-untyped-def]
    """`CONNECT bet.test:443` then a ClientHello naming a passthrough bank: both names
    are decided; the connection is decrypted (not passed through) and blocked."""
    for source in (STUDENT, SELECTIVE_LAB, STAFF):
        sock, answer = connect(proxy.port, "locked.test:443" if source == STAFF else "bet.test:443", source)
        assert answer.status == 200
        with tls(sock, BANK, ca) as s:  # our certificate: decrypted, not passed through
            got = request(s, BANK)
        assert got.status == 403, (source, got)
        assert got.reason == ("illegal" if source == STAFF else "category")
    assert not upstream.contacted("bet.test") and not upstream.contacted("locked.test")
    assert not upstream.contacted(BANK)


def test_sni_mode_refuses_a_blocked_connect_target_whatever_the_server_name(proxy, upstream, ca) -> None:  # type: ignore[no-untyped-def]
    for sni in (BANK, "school.test"):
        sock, answer = connect(proxy.port, "bet.test:443", SNI_LAB)
        assert answer.status == 200
        assert handshake_refused(sock, sni, None)
    assert not upstream.contacted("bet.test")


def test_selective_mode_decrypts_and_blocks_a_fronted_connect(proxy, upstream, ca) -> None:  # type: ignore[no-untyped-def]
    sock, _ = connect(proxy.port, "bet.test:443", SELECTIVE_LAB)
    with tls(sock, "school.test", ca) as s:
        got = request(s, "school.test")
    assert got.status == 403 and got.reason == "category"
    assert not upstream.contacted("bet.test")


def test_allowed_connect_target_with_a_blocked_server_name(proxy, upstream, ca) -> None:  # type: ignore[no-untyped-def]
    sock, _ = connect(proxy.port, "school.test:443", STUDENT)
    with tls(sock, "bet.test", ca) as s:
        got = request(s, "school.test")
    assert got.status == 403 and got.reason == "mismatch"
    assert "bet.test" in got.body.decode()
    sock, _ = connect(proxy.port, "school.test:443", SNI_LAB)
    assert handshake_refused(sock, "bet.test", None)


def test_no_server_name_is_decided_on_the_connect_target(proxy, upstream, ca) -> None:  # type: ignore[no-untyped-def]
    sock, _ = connect(proxy.port, "bet.test:443", SNI_LAB)
    assert handshake_refused(sock, None, None)  # type: ignore[arg-type]
    sock, _ = connect(proxy.port, "bet.test:443", STUDENT)
    with tls(sock, None, None) as s:
        got = request(s, "bet.test")
    assert got.status == 403
    assert not upstream.contacted("bet.test")


def test_a_server_name_that_is_an_address(proxy, upstream) -> None:  # type: ignore[no-untyped-def]
    before = len(upstream.connects)
    sock, _ = connect(proxy.port, "school.test:443", SNI_LAB)
    assert tls_alert_or_close(sock, client_hello(LISTED_IP))  # refused at the handshake
    sock.close()
    assert len(upstream.connects) == before  # nothing was passed through


def test_connect_to_a_listed_address_with_an_allowed_server_name(proxy, upstream, ca) -> None:  # type: ignore[no-untyped-def]
    sock, _ = connect(proxy.port, f"{LISTED_IP}:443", STUDENT)
    with tls(sock, "school.test", ca) as s:
        got = request(s, "school.test")
    assert got.status == 403 and got.reason in ("category", "ip_literal")
    sock, _ = connect(proxy.port, f"{LISTED_IP}:443", SNI_LAB)
    assert handshake_refused(sock, "school.test", None)
    assert not upstream.contacted(LISTED_IP)


# --- 2. Raw tunnels and other ports -------------------------------------------------------

@pytest.mark.parametrize("what, first_bytes", [
    ("ssh", b"SSH-2.0-OpenSSH_9.2p1\r\n"),
    ("socks5", b"\x05\x01\x00"),
    ("openvpn-tcp", b"\x00\x0e\x38" + bytes(13)),
    ("random", bytes(range(7, 200))),
])
def test_a_tunnel_that_is_neither_http_nor_tls_is_closed(proxy, upstream, what: str, first_bytes: bytes) -> None:  # type: ignore[no-untyped-def]
    for target in ("school.test:443", f"{LISTED_IP}:443", "school.test:80"):
        sock, answer = connect(proxy.port, target, STUDENT)
        assert answer.status == 200
        assert closed_without_relaying(sock, first_bytes), (what, target)
        sock.close()
    assert not [c for c in upstream.connects if c.startswith(("school.test:80", f"{LISTED_IP}"))]


@pytest.mark.parametrize("target", ["vpn.example:1194", "school.test:22", "8.8.8.8:53", "school.test:8443",
                                    f"{LISTED_IP}:1080"])
def test_connect_to_another_port_is_refused(proxy, upstream, target: str) -> None:  # type: ignore[no-untyped-def]
    sock, answer = connect(proxy.port, target, STUDENT)
    sock.close()
    assert answer.status == 403 and answer.reason == "tunnel"
    assert target not in upstream.connects


def test_a_port_the_policy_opens_is_open_for_that_group_only(proxy, upstream) -> None:  # type: ignore[no-untyped-def]
    sock, answer = connect(proxy.port, "mc.school.test:25565", CLUB)
    sock.close()
    assert answer.status == 200
    sock, answer = connect(proxy.port, "mc.school.test:25565", STUDENT)
    sock.close()
    assert answer.status == 403 and answer.reason == "tunnel"
    sock, answer = connect(proxy.port, "bet.test:25565", CLUB)  # still decided by name
    with sock:
        assert answer.status == 200 and closed_without_relaying(sock, b"\xfe\x01minecraft")


def test_staff_keep_other_ports(proxy) -> None:  # type: ignore[no-untyped-def]
    sock, answer = connect(proxy.port, "school.test:22", STAFF)
    sock.close()
    assert answer.status == 200


def test_connect_inside_connect(proxy, upstream, ca) -> None:  # type: ignore[no-untyped-def]
    sock, _ = connect(proxy.port, "school.test:443", STUDENT)
    with tls(sock, "school.test", ca) as s:
        s.sendall(b"CONNECT bet.test:443 HTTP/1.1\r\nHost: bet.test:443\r\n\r\n")
        got = s.recv(65536)
    assert b" 200 " not in got.split(b"\r\n", 1)[0]
    assert not upstream.contacted("bet.test")


def test_tls_on_port_80_and_plain_http_on_443(proxy, upstream, ca) -> None:  # type: ignore[no-untyped-def]
    sock, _ = connect(proxy.port, "school.test:80", STUDENT)
    with tls(sock, "bet.test", ca) as s:
        got = request(s, "bet.test")
    assert got.status == 403
    sock, _ = connect(proxy.port, "school.test:443", STUDENT)
    with sock:
        got = request(sock, "bet.test")
    assert got.status == 403
    assert not upstream.contacted("bet.test")


# --- 3. The request's target and its Host header ------------------------------------------

def test_listed_address_with_an_allowed_host_header(proxy, upstream) -> None:  # type: ignore[no-untyped-def]
    got = plain(proxy.port, STUDENT, f"http://{LISTED_IP}/", "wikipedia.org")
    assert got.status == 403
    got = plain(proxy.port, STAFF, f"http://{LOCKED_IP}/", "wikipedia.org")
    assert got.status == 403 and got.reason == "illegal"
    assert not upstream.contacted(LISTED_IP) and not upstream.contacted(LOCKED_IP)


def test_absolute_url_and_host_header_disagree(proxy, upstream) -> None:  # type: ignore[no-untyped-def]
    got = plain(proxy.port, STUDENT, "http://school.test/", "bet.test")
    assert got.status == 403 and got.reason == "mismatch"
    got = plain(proxy.port, STUDENT, "http://bet.test/", "school.test")
    assert got.status == 403 and got.reason == "category"
    assert not upstream.contacted("bet.test")


@pytest.mark.parametrize("host", ["bet.test:", "bet.test:abc", "school.test:99999", "a@bet.test", "[::1"])
def test_a_host_header_that_does_not_parse_is_refused(proxy, upstream, host: str) -> None:  # type: ignore[no-untyped-def]
    before = len(upstream.seen)
    for source in (STUDENT, STAFF):
        assert plain(proxy.port, source, "http://school.test/", host).status == 400
    assert len(upstream.seen) == before


def test_http2_authority_that_is_not_the_server_name(proxy, upstream, ca) -> None:  # type: ignore[no-untyped-def]
    out = subprocess.run(["curl", "-sS", "--http2", "-o", "/dev/null", "-w", "%{http_code} %{http_version}",
                          "--interface", STUDENT, "-x", proxy.url, "--cacert", str(ca), "-H", "Host: bet.test",
                          "https://school.test/"], capture_output=True, text=True, timeout=30)
    assert out.stdout.split()[0] == "403", out.stderr
    assert not upstream.contacted("bet.test")


def test_websocket_upgrade_to_a_blocked_host(proxy, upstream) -> None:  # type: ignore[no-untyped-def]
    got = plain(proxy.port, STUDENT, "http://bet.test/socket", "bet.test",
                "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\n")
    assert got.status == 403
    assert not upstream.contacted("bet.test")


def test_a_redirect_from_an_allowed_site_to_a_blocked_one(proxy, upstream) -> None:  # type: ignore[no-untyped-def]
    upstream.redirect("school.test/go", "http://bet.test/landing")
    out = subprocess.run(["curl", "-sS", "-L", "-o", "/dev/null", "-w", "%{http_code}", "--interface", STUDENT,
                          "-x", proxy.url, "-H", "Accept: text/html", "http://school.test/go"],
                         capture_output=True, text=True, timeout=30)
    assert out.stdout == "403"
    assert not upstream.contacted("bet.test")


# --- 4. This machine, by any name ---------------------------------------------------------

class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        _Recorder.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def gateway_service() -> Iterator[int]:
    """A service of the gateway itself on loopback, such as the dashboard or /metrics."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def direct_proxy(tree: Settings) -> Iterator[ProxyProcess]:
    """The proxy in its own regular mode (no upstream): it resolves names itself."""
    args = [
        "--set", "listen_port=0", "--set", f"schoolgate_policies_dir={tree.policies_dir}",
        "--set", f"schoolgate_blocklists_dir={tree.blocklists_dir}",
        "--set", f"schoolgate_data_dir={Path(tree.data_dir).parent / 'data-direct'}",
        "--set", "schoolgate_metrics_port=0", "--set", "schoolgate_dashboard_port=0"]
    proc = ProxyProcess(args).start()
    yield proc
    proc.stop()


def test_the_gateway_itself_is_not_reachable_by_any_name(direct_proxy, gateway_service) -> None:  # type: ignore[no-untyped-def]
    port = gateway_service
    hostname = socket.gethostname()
    assert "127.0.0.1" in {a[4][0] for a in socket.getaddrinfo(hostname, port)}, "this machine's name is loopback"
    _Recorder.hits.clear()
    for url in (f"http://localhost:{port}/a", f"http://LOCALHOST.:{port}/b", f"http://app.localhost:{port}/c",
                f"http://{hostname}:{port}/d", f"http://127.0.0.1:{port}/e", f"http://2130706433:{port}/f",
                f"http://0x7f.1:{port}/g", f"http://127.1:{port}/h", f"http://0177.0.0.1:{port}/i",
                f"http://[::ffff:127.0.0.1]:{port}/j", f"http://[::1]:{port}/k", f"http://169.254.169.254:{port}/l"):
        host = url.split("/")[2]
        got = plain(direct_proxy.port, STUDENT, url, host)
        assert got.status == 403, (url, got)
        assert got.reason in ("local", "ip_literal"), (url, got.reason)
    assert _Recorder.hits == []
    # Staff may reach it (an IT admin's own tools).
    got = plain(direct_proxy.port, STAFF, f"http://localhost:{port}/staff", f"localhost:{port}")
    assert got.status == 200 and _Recorder.hits == ["/staff"]


def test_connect_to_this_machine_is_refused(direct_proxy, gateway_service) -> None:  # type: ignore[no-untyped-def]
    for target in ("localhost:443", "127.0.0.1:443", "[::1]:443", f"{socket.gethostname()}:443",
                   f"localhost:{gateway_service}"):
        sock, answer = connect(direct_proxy.port, target, STUDENT)
        sock.close()
        assert answer.status == 403 and answer.reason in ("local", "tunnel"), (target, answer)
    assert _Recorder.hits == ["/staff"] or _Recorder.hits == []
