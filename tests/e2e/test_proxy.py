"""The real proxy, real requests: curl from different loopback addresses (one per
grade) through `schoolgate run` to a local upstream, over HTTP and HTTPS."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers.upstream import page_body

pytestmark = pytest.mark.e2e


def curl(proxy: str, url: str, source: str = "127.0.0.1", *extra: str, ca: Path | None = None,
         accept: str | None = "text/html") -> tuple[int, dict[str, str], bytes]:
    args = ["curl", "-s", "-S", "-i", "--max-time", "15", "--interface", source, "-x", proxy]
    if ca is not None:
        args += ["--cacert", str(ca)]
    if accept:
        args += ["-H", f"Accept: {accept}"]
    out = subprocess.run(args + list(extra) + [url], capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr.decode()
    raw = out.stdout
    # skip "HTTP/1.1 200 Connection established" of CONNECT
    while raw.startswith(b"HTTP/1.1 200 Connection established"):
        raw = raw.split(b"\r\n\r\n", 1)[1]
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


@pytest.fixture
def proxy(shared_proxy):  # type: ignore[no-untyped-def]
    return shared_proxy


@pytest.fixture
def settings(shared_settings):  # type: ignore[no-untyped-def]
    return shared_settings


@pytest.fixture
def ca(shared_settings) -> Path:  # type: ignore[no-untyped-def]
    return Path(shared_settings.data_dir) / "ca" / "mitmproxy-ca-cert.pem"


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_allowed_content_passes_unchanged(proxy, ca, scheme) -> None:  # type: ignore[no-untyped-def]
    status, headers, body = curl(proxy.url, f"{scheme}://school.test/lesson/1", "127.0.0.3", ca=ca)
    assert status == 200
    assert headers["x-upstream"] == "yes"
    assert body == page_body("school.test", "/lesson/1", scheme)


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_blocked_page_gets_the_bilingual_block_page(proxy, ca, scheme) -> None:  # type: ignore[no-untyped-def]
    status, headers, body = curl(proxy.url, f"{scheme}://www.bet.test/", "127.0.0.7", ca=ca)
    assert status == 403
    assert headers["content-type"].startswith("text/html")
    assert headers["x-schoolgate-reason"] == "category"
    page = body.decode("utf-8")
    assert "Trang này đã bị chặn" in page and "This page is blocked" in page
    assert page.index("Trang này đã bị chặn") < page.index("This page is blocked")  # Vietnamese first
    assert "www.bet.test" in page
    assert "Cờ bạc, cá độ" in page and "Gambling and betting" in page
    assert "Tổng đài quốc gia bảo vệ trẻ em 111" in page
    assert "Blocked by mistake?" in page
    assert "http://" not in page.split("</head>")[0] and "<script" not in page  # self-contained


def test_non_page_requests_get_a_short_403(proxy) -> None:  # type: ignore[no-untyped-def]
    status, headers, body = curl(proxy.url, "http://bet.test/logo.png", "127.0.0.7", accept="image/png")
    assert status == 403
    assert headers["x-schoolgate-reason"] == "category"
    assert headers["content-type"].startswith("text/plain")
    assert len(body) < 200


def test_grades_get_their_own_policy(proxy, ca) -> None:  # type: ignore[no-untyped-def]
    # Games are blocked all day for primary; for grade 11 only during the school day,
    # and the shipped policy always blocks social networks for primary.
    assert curl(proxy.url, "https://social.test/", "127.0.0.3", ca=ca)[0] == 403
    status, headers, _ = curl(proxy.url, "http://social.test/", "127.0.0.20")  # staff
    assert status == 200
    # Staff are still blocked from locked (illegal) lists.
    status, headers, _ = curl(proxy.url, "http://locked.test/", "127.0.0.20")
    assert status == 403 and headers["x-schoolgate-reason"] == "illegal"


def test_blocked_host_is_never_contacted(proxy, upstream) -> None:  # type: ignore[no-untyped-def]
    curl(proxy.url, "http://adult.test/secret", "127.0.0.3")
    assert not [s for s in upstream.seen if s[1] == "adult.test"]


def test_unknown_device_gets_the_default_student_policy(proxy) -> None:  # type: ignore[no-untyped-def]
    status, headers, _ = curl(proxy.url, "http://adult.test/", "127.0.0.99")
    assert status == 403
    status, _, _ = curl(proxy.url, "http://school.test/", "127.0.0.99")
    assert status == 200


def test_url_rules_and_private_suffixes(proxy) -> None:  # type: ignore[no-untyped-def]
    assert curl(proxy.url, "http://news.test/violent/story", "127.0.0.7")[0] == 403
    assert curl(proxy.url, "http://news.test/sport/", "127.0.0.7")[0] == 200
    # someone.github.io is listed; other GitHub Pages sites are not blocked by it.
    assert curl(proxy.url, "http://someone.github.io/", "127.0.0.7")[0] == 403
    assert curl(proxy.url, "http://other.github.io/", "127.0.0.7")[0] == 200


def test_explain_matches_the_proxy(settings) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers.proxy import run_cli

    out = run_cli("explain", "https://www.bet.test/x", "--client", "127.0.0.7", "--json",
                  "--set", f"schoolgate_policies_dir={settings.policies_dir}",
                  "--set", f"schoolgate_blocklists_dir={settings.blocklists_dir}",
                  "--set", f"schoolgate_data_dir={settings.data_dir}")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["action"] == "block" and data["reason"] == "category"
    assert data["category"] == "gambling" and data["grade"] == 7 and data["group"] == "grade-7"
    assert data["category_name"] == {"vi": "Cờ bạc, cá độ", "en": "Gambling and betting"}
    assert data["origin"].endswith("lower-secondary.yaml:8")
