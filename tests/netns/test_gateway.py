"""The gateway in real network namespaces: client → gateway (schoolgate in
transparent mode, nftables rules from `schoolgate gateway --apply`) → server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.netns import Topology, sh
from tests.helpers.proxy import SCHOOLGATE, ProxyProcess
from tests.helpers.trees import make_tree

pytestmark = pytest.mark.netns
ROOT = Path(__file__).resolve().parents[2]

CLIENTS = """\
clients:
  - {network: 10.77.1.2/32, group: grade-7}
  - {network: 10.77.1.3/32, group: guest}
"""


@pytest.fixture
def net(tmp_path: Path) -> Iterator[tuple[Topology, Path, ProxyProcess]]:
    assert os.geteuid() == 0, "the gateway tests create network namespaces: run them as root (CI does)"
    assert shutil.which("nft"), "nftables is missing: run tests/system-deps.sh as root"
    topo = Topology()
    procs: list[subprocess.Popen[str] | ProxyProcess] = []
    try:
        topo.create()
        policies, blocklists = make_tree(tmp_path, clients=CLIENTS)
        (policies / "guest-sni.yaml").write_text("groups:\n  guest-sni-note: {inherits: guest}\n")
        guest = (policies / "guest.yaml").read_text()
        (policies / "guest.yaml").write_text(guest.replace("    safe_search: true", "    tls: sni\n    safe_search: true"))
        data = tmp_path / "data"
        sets = ["--set", f"schoolgate_policies_dir={policies}", "--set", f"schoolgate_blocklists_dir={blocklists}",
                "--set", f"schoolgate_data_dir={data}", "--set", "schoolgate_metrics_port=0",
                "--set", "schoolgate_dashboard_port=0"]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        server = subprocess.Popen(["ip", "netns", "exec", topo.server, sys.executable, "-m",
                                   "tests.helpers.netns_server", str(tmp_path)], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append(server)
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        out = sh(*SCHOOLGATE, "gateway", "--interfaces", topo.lan_if, "--proxy-port", "8080", "--apply", *sets,
                 ns=topo.gateway)
        assert "Applied" in out.stdout

        class GatewayProxy(ProxyProcess):
            command = ["ip", "netns", "exec", topo.gateway] + SCHOOLGATE + ["run"]

        proxy = GatewayProxy(["--set", "mode=transparent", "--set", "listen_host=0.0.0.0",
                              "--set", "listen_port=8080", "--set", "ssl_insecure=true", *sets]).start()
        procs.append(proxy)
        yield topo, tmp_path, proxy
    finally:
        for p in procs:
            if isinstance(p, ProxyProcess):
                p.stop()
            else:
                p.kill()
                p.wait(5)
                if p.stdout:
                    p.stdout.close()
        topo.destroy()
    assert not [ns for ns in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
                if topo.tag in ns]


def curl(topo: Topology, url: str, source: str, *extra: str) -> tuple[int, str, str]:
    """(exit code, status line and headers, body) of a curl from the client namespace."""
    host = url.split("://", 1)[1].split("/", 1)[0]
    args = ["curl", "-sS", "-i", "--max-time", "10", "--interface", source, "-H", "Accept: text/html"]
    if not host[0].isdigit():
        port = 443 if url.startswith("https") else 80
        args += ["--resolve", f"{host}:{port}:{topo.server_ip}"]
    out = sh(*args, *extra, url, ns=topo.client, check=False)
    text = out.stdout.replace("\r\n", "\n")
    head, _, body = text.partition("\n\n")
    return out.returncode, head, body


def test_gateway(net) -> None:  # type: ignore[no-untyped-def]
    topo, work, proxy = net
    ca = str(Path(work) / "data" / "ca" / "mitmproxy-ca-cert.pem")

    # HTTP through transparent mode: allowed sites load, blocked ones get the block page.
    rc, head, body = curl(topo, "http://school.test/lesson", topo.client_ip)
    assert rc == 0 and " 200 " in head.split("\n")[0] and '"served_by": "upstream"' in body
    rc, head, body = curl(topo, "http://bet.test/", topo.client_ip)
    assert " 403 " in head.split("\n")[0] and "Trang này đã bị chặn" in body

    # Intercepted HTTPS (the device trusts the school's CA).
    rc, head, body = curl(topo, "https://school.test/", topo.client_ip, "--cacert", ca)
    assert rc == 0 and " 200 " in head.split("\n")[0]
    rc, head, body = curl(topo, "https://bet.test/", topo.client_ip, "--cacert", ca)
    assert rc == 0 and " 403 " in head.split("\n")[0] and "bet.test" in body

    # SNI mode (guests without the CA): allowed sites pass through unread (the server's own
    # certificate), blocked ones are refused at the handshake.
    verbose = sh("curl", "-sS", "-k", "-v", "-o", "/dev/null", "--max-time", "10", "--interface", topo.client_ip2,
                 "--resolve", f"school.test:443:{topo.server_ip}", "https://school.test/", ns=topo.client, check=False)
    assert verbose.returncode == 0 and "issuer: CN=upstream.test" in verbose.stderr  # the server's own, not ours
    rc, _, _ = curl(topo, "https://bet.test/", topo.client_ip2, "-k")
    assert rc == 35  # curl: SSL connect error (handshake refused), no certificate warning

    # A bare-IP HTTPS connection is blocked for students; a fronted request is blocked.
    rc, head, _ = curl(topo, f"https://{topo.server_ip}/", topo.client_ip, "--cacert", ca)
    assert " 403 " in head.split("\n")[0] and "ip_literal" in head
    rc, head, _ = curl(topo, "https://school.test/", topo.client_ip, "--cacert", ca, "-H", "Host: bet.test")
    assert " 403 " in head.split("\n")[0]

    # QUIC (UDP 443) and DNS over TLS (853) are dropped; the control ports pass.
    for port in (443, 4443):
        sh(sys.executable, "-c", f"import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
           f"s.bind(('{topo.client_ip}', 0)); s.sendto(b'quic?', ('{topo.server_ip}', {port}))", ns=topo.client)
    for port in (853, 8530):
        sh(sys.executable, "-c", f"import socket\ntry:\n s=socket.create_connection(('{topo.server_ip}', {port}), "
           f"timeout=2, source_address=('{topo.client_ip}', 0)); s.sendall(b'x'); s.close()\nexcept OSError:\n pass",
           ns=topo.client)
    time.sleep(1)
    seen = (Path(work) / "seen.log").read_text().split() if (Path(work) / "seen.log").exists() else []
    assert "4443" in seen and "8530" in seen, seen
    assert "443" not in seen and "853" not in seen, seen
