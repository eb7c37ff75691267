"""Content controls through the real proxy, over HTTP and HTTPS: safe search,
YouTube restricted mode, search and page scanning, safeguarding help and alerts,
personal-information warnings, file types and focus mode."""

from __future__ import annotations

import sqlite3
import time
import urllib.parse
from pathlib import Path

import pytest

from tests.e2e.test_proxy import curl
from tests.e2e.test_reload import wait_status
from tests.helpers.proxy import run_cli

pytestmark = pytest.mark.e2e

GAMBLING = ("<html><body><h1>Soi kèo nhà cái hôm nay</h1><p>Tỷ lệ kèo cá độ bóng đá, nhà cái uy tín, "
            "đặt cược ngay.</p></body></html>").encode()


@pytest.fixture
def proxy(shared_proxy):  # type: ignore[no-untyped-def]
    return shared_proxy


@pytest.fixture
def ca(shared_settings) -> Path:  # type: ignore[no-untyped-def]
    return Path(shared_settings.data_dir) / "ca" / "mitmproxy-ca-cert.pem"


def last_seen(upstream, host: str):  # type: ignore[no-untyped-def]
    hits = [s for s in upstream.seen if s[1] == host]
    return hits[-1] if hits else None


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_safe_search_and_youtube(proxy, ca, upstream, scheme) -> None:  # type: ignore[no-untyped-def]
    status, _, _ = curl(proxy.url, f"{scheme}://www.google.com.vn/search?q=bai+tap&safe=off", "127.0.0.7", ca=ca)
    assert status == 200
    _, _, path, _, _ = last_seen(upstream, "www.google.com.vn")
    assert "safe=active" in path and "safe=off" not in path
    curl(proxy.url, f"{scheme}://www.youtube.com/watch?v=abc", "127.0.0.11", ca=ca)
    assert last_seen(upstream, "www.youtube.com")[3].get("YouTube-Restrict") == "Moderate"
    curl(proxy.url, f"{scheme}://www.youtube.com/watch?v=abc", "127.0.0.3", ca=ca)
    assert last_seen(upstream, "www.youtube.com")[3].get("YouTube-Restrict") == "Strict"
    assert curl(proxy.url, f"{scheme}://www.youtube.com/shorts/xyz", "127.0.0.3", ca=ca)[0] == 403  # path rule


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_searches_are_scanned_before_they_leave(proxy, ca, upstream, shared_settings, scheme) -> None:  # type: ignore[no-untyped-def]
    q = urllib.parse.quote("soi kèo nhà cái cá độ bóng đá")
    before = len(upstream.seen)
    status, headers, body = curl(proxy.url, f"{scheme}://www.bing.com/search?q={q}", "127.0.0.3", ca=ca)
    assert status == 403 and headers["x-schoolgate-reason"] == "phrase"
    assert "kèo" not in body.decode()  # the page never repeats the phrases
    assert not [s for s in upstream.seen[before:] if s[1] == "www.bing.com"]  # it never left
    # safeguarding: the kind page, and an alert for the designated staff (no search terms stored)
    q = urllib.parse.quote("cách tự tử")
    status, headers, body = curl(proxy.url, f"{scheme}://www.google.com/search?q={q}", "127.0.0.11", ca=ca)
    page = body.decode()
    assert status == 403 and headers["x-schoolgate-reason"] == "safeguarding"
    assert "Em có ổn không?" in page and "111" in page
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with sqlite3.connect(shared_settings.db_path) as conn:
            rows = conn.execute("SELECT kind, severity, category, path FROM incidents WHERE kind = 'alert'").fetchall()
        if rows:
            break
        time.sleep(0.2)
    assert ("alert", "high", "self_harm", "/search") in rows


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_uncategorised_pages_are_scanned(proxy, ca, upstream, scheme) -> None:  # type: ignore[no-untyped-def]
    upstream.serve("new-bets.test/home", "text/html; charset=utf-8", GAMBLING)
    status, headers, body = curl(proxy.url, f"{scheme}://new-bets.test/home", "127.0.0.7", ca=ca)
    assert status == 403 and headers["x-schoolgate-reason"] == "phrase" and "Trang này đã bị chặn" in body.decode()
    upstream.serve("school-news.test/home", "text/html; charset=utf-8", "<p>Lịch thi học kỳ I</p>".encode())
    assert curl(proxy.url, f"{scheme}://school-news.test/home", "127.0.0.7", ca=ca)[0] == 200
    assert curl(proxy.url, f"{scheme}://new-bets.test/home", "127.0.0.20", ca=ca)[0] == 200  # staff


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_personal_information_warning(proxy, ca, upstream, scheme) -> None:  # type: ignore[no-untyped-def]
    form = "name=An&phone=0912345678"
    before = len(upstream.seen)
    status, headers, body = curl(proxy.url, f"{scheme}://quiz.test/signup", "127.0.0.7",
                                 "--data", form, ca=ca)
    page = body.decode()
    assert status == 403 and headers["x-schoolgate-reason"] == "personal_info"
    assert "số điện thoại" in page and not [s for s in upstream.seen[before:] if s[1] == "quiz.test"]
    token = page.split('name="__schoolgate_pii" value="')[1].split('"')[0]
    status, _, _ = curl(proxy.url, f"{scheme}://quiz.test/signup", "127.0.0.7",
                        "--data", f"{form}&__schoolgate_pii={token}", ca=ca)
    assert status == 200
    assert last_seen(upstream, "quiz.test")[4] == form.encode()  # the token never leaves the proxy


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_file_types(proxy, ca, upstream, scheme) -> None:  # type: ignore[no-untyped-def]
    status, headers, _ = curl(proxy.url, f"{scheme}://files.test/setup.exe", "127.0.0.7", ca=ca, accept="*/*")
    assert status == 403 and headers["x-schoolgate-reason"] == "filetype"
    upstream.serve("files.test/app", "application/vnd.android.package-archive", b"PK\x03\x04")
    assert curl(proxy.url, f"{scheme}://files.test/app", "127.0.0.7", ca=ca, accept="*/*")[0] == 403
    assert curl(proxy.url, f"{scheme}://files.test/app", "127.0.0.20", ca=ca, accept="*/*")[0] == 200


def test_focus_mode_applies_within_seconds_and_expires(proxy, shared_settings) -> None:  # type: ignore[no-untyped-def]
    sets = ["--set", f"schoolgate_policies_dir={shared_settings.policies_dir}",
            "--set", f"schoolgate_blocklists_dir={shared_settings.blocklists_dir}",
            "--set", f"schoolgate_data_dir={shared_settings.data_dir}"]
    assert curl(proxy.url, "http://news.test/", "127.0.0.7")[0] == 200
    out = run_cli("override", "add", "--grade", "7", "--focus", "--allow", "lesson.test", "--minutes", "5",
                  "--by", "cô Lan", *sets)
    assert out.returncode == 0, out.stderr
    oid = out.stdout.split("#")[1].split(":")[0]
    wait_status(proxy.url, "http://news.test/", "127.0.0.7", 403, deadline=5)
    assert curl(proxy.url, "http://www.lesson.test/", "127.0.0.7")[0] == 200
    assert curl(proxy.url, "http://news.test/", "127.0.0.11")[0] == 200  # other grades unaffected
    explain = run_cli("explain", "http://news.test/", "--grade", "7", *sets).stdout
    assert "BLOCK (focus)" in explain and f"override: #{oid} focus grade-7: lesson.test" in explain
    assert run_cli("override", "remove", oid, *sets).returncode == 0
    wait_status(proxy.url, "http://news.test/", "127.0.0.7", 200, deadline=5)
