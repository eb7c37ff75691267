"""`tls: selective` through the real proxy: HTTPS to an allowed, categorised site
passes through unread (the site's own certificate reaches the browser), while
uncategorised sites, search engines and blocked sites are decrypted."""

from __future__ import annotations

import subprocess
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

from addons.core.settings import Settings
from tests.e2e.test_proxy import curl
from tests.helpers.upstream import free_port


def issuer(proxy: str, url: str, source: str) -> str:
    out = subprocess.run(["curl", "-sS", "-k", "-v", "-o", "/dev/null", "--max-time", "15", "--interface", source,
                          "-x", proxy, url], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return next(line.split("issuer:", 1)[1].strip() for line in out.stderr.splitlines() if "issuer:" in line)


@pytest.fixture
def selective(settings: Settings) -> Settings:
    p = settings.policies_path / "lower-secondary.yaml"
    text = p.read_text().replace("    safe_search: true", "    tls: selective\n    safe_search: true", 1)
    # Games allowed all day, so that the answers do not depend on the time the test runs.
    p.write_text(text.replace("games: {block_during: school-day}", "games: allow", 1))
    return settings


def test_selective_interception(start_proxy, selective: Settings) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    proxy = start_proxy(settings=replace(selective, metrics_port=port))
    ca = Path(selective.data_dir) / "ca" / "mitmproxy-ca-cert.pem"
    # Grade 7 (selective): a categorised, allowed site is not decrypted.
    assert issuer(proxy.url, "https://games.test/", "127.0.0.7") == "CN=upstream.test"
    # What the policy must read is decrypted with the school's CA.
    for url in ("https://unknown-site.test/", "https://news.test/", "https://www.google.com/"):
        assert "schoolgate CA" in issuer(proxy.url, url, "127.0.0.7"), url
    status, _, body = curl(proxy.url, "https://bet.test/", "127.0.0.7", ca=ca)
    assert status == 403 and "bet.test" in body.decode()
    status, _, _ = curl(proxy.url, "https://news.test/violent/x", "127.0.0.7", ca=ca)
    assert status == 403
    # Grade 3 (intercept, the default) reads everything.
    assert "schoolgate CA" in issuer(proxy.url, "https://school.test/", "127.0.0.3")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        metrics = r.read().decode()
    assert 'schoolgate_tls_selective_total{decision="passthrough"} 1.0' in metrics
    assert 'schoolgate_tls_selective_total{decision="scanning"} 1.0' in metrics
