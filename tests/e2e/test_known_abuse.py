"""Known child-abuse material through the real proxy over HTTPS: signed authority
lists (URLs and image hashes) apply to every group, staff included; a matching
image is replaced, a critical alert and a report for the authorities are
stored, and the metrics count it without any host."""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

from addons.core.settings import Settings
from addons.infra.imagehash import list_lines
from addons.infra.signing import generate, sign
from tests.e2e.test_list_sources import cli_sets
from tests.e2e.test_observability import free_port
from tests.e2e.test_proxy import curl
from tests.helpers.images import encode, picture, resized
from tests.helpers.listserver import ListServer
from tests.helpers.proxy import run_cli
from tests.helpers.upstream import Upstream

pytestmark = pytest.mark.e2e

STAFF, STUDENT, GUEST = "127.0.0.20", "127.0.0.7", "127.0.0.30"
LISTED = picture(1)
COPY = encode(resized(LISTED, 0.7), quality=60)  # what a site serves: a smaller, re-encoded copy
ORIGINAL = encode(LISTED)
UNRELATED = encode(picture(2))


def wait_rows(db: Path, sql: str, count: int, timeout: float = 10.0) -> list[sqlite3.Row]:
    deadline = time.monotonic() + timeout
    rows: list[sqlite3.Row] = []
    while time.monotonic() < deadline:
        if db.exists():
            with sqlite3.connect(db) as conn:
                conn.row_factory = sqlite3.Row
                try:
                    rows = conn.execute(sql).fetchall()
                except sqlite3.OperationalError:
                    rows = []
            if len(rows) >= count:
                return rows
        time.sleep(0.2)
    return rows


def test_known_abuse_material_is_blocked_for_everyone_and_reported(
        start_proxy, settings: Settings, upstream: Upstream) -> None:  # type: ignore[no-untyped-def]
    private, public = generate()
    hashes = ("# authority image hashes\n" + "\n".join(list_lines(ORIGINAL, "img-1")) + "\n").encode()
    urls = b"gallery.test/album/42/\n"
    port = free_port()
    settings = replace(settings, authority_public_key=public, school_id="79-TH-0001", metrics_port=port)
    with ListServer() as lists:
        lists.serve("/hashes.txt", hashes)
        lists.serve("/hashes.txt.sig", sign(hashes, private).encode())
        lists.serve("/urls.txt", urls)
        lists.serve("/urls.txt.sig", sign(urls, private).encode())
        (Path(settings.blocklists_dir) / "sources.yaml").write_text(
            "sources:\n"
            f"  authority-images: {{url: '{lists.url('/hashes.txt')}', format: hashes, category: csam, "
            "locked: true, signature: required}\n"
            f"  authority-urls: {{url: '{lists.url('/urls.txt')}', format: urls, category: csam, "
            "locked: true, signature: required}\n")
        out = run_cli("lists", "update", *cli_sets(settings))
        assert out.returncode == 0, out.stdout + out.stderr
        check = run_cli("check", *cli_sets(settings))
        assert "3 image hashes" in check.stdout, check.stdout

        upstream.serve("photos.test/holiday/copy.jpg", "image/jpeg", COPY)
        upstream.serve("photos.test/holiday/original.jpg", "image/jpeg", ORIGINAL)
        upstream.serve("photos.test/holiday/beach.jpg", "image/jpeg", UNRELATED)
        # A teacher's override cannot open what a locked list holds.
        out = run_cli("override", "add", "--group", "staff", "--unblock", "gallery.test", "--by", "teacher",
                      *cli_sets(settings))
        assert out.returncode == 0, out.stdout + out.stderr
        proxy = start_proxy("--set", f"schoolgate_authority_public_key={public}",
                            "--set", "schoolgate_school_id=79-TH-0001", settings=settings)
        ca = Path(settings.data_dir) / "ca" / "mitmproxy-ca-cert.pem"

        # A resized, re-encoded copy is replaced for staff too, over HTTPS.
        status, headers, body = curl(proxy.url, "https://photos.test/holiday/copy.jpg", STAFF, ca=ca,
                                     accept="image/*")
        assert status == 200 and headers["content-type"] == "image/svg+xml", (status, headers)
        assert headers["x-schoolgate-reason"] == "illegal" and body.startswith(b"<svg") and COPY not in body
        # The original bytes: an exact match, for a student and a guest alike.
        for client in (STUDENT, GUEST):
            status, headers, body = curl(proxy.url, "https://photos.test/holiday/original.jpg", client, ca=ca,
                                         accept="image/*")
            assert headers["content-type"] == "image/svg+xml" and ORIGINAL not in body
        # Other pictures are delivered byte for byte.
        status, headers, body = curl(proxy.url, "https://photos.test/holiday/beach.jpg", STAFF, ca=ca,
                                     accept="image/*")
        assert status == 200 and headers["content-type"] == "image/jpeg" and body == UNRELATED
        # The URL list: a prefix, not the whole site, and the override does not open it.
        status, headers, _ = curl(proxy.url, "https://gallery.test/album/42/p.jpg", STAFF, ca=ca)
        assert status == 403 and headers["x-schoolgate-reason"] == "illegal"
        assert curl(proxy.url, "https://gallery.test/album/43/", STAFF, ca=ca)[0] == 200

        # Critical alerts with list and entry id and host; never the path.
        alerts = wait_rows(settings.db_path, "SELECT * FROM incidents WHERE severity = 'critical' ORDER BY id", 4)
        assert [(a["kind"], a["group_id"], a["host"], a["path"]) for a in alerts] == [
            ("alert", "staff", "photos.test", None), ("alert", "grade-7", "photos.test", None),
            ("alert", "guest", "photos.test", None), ("alert", "staff", "gallery.test", None)]
        assert alerts[0]["detail"] == "sources/authority-images/csam.hashes entry img-1"
        assert alerts[3]["detail"] == "sources/authority-urls/csam.urls entry 1"
        # One report per entry and host, queued for the authorities.
        outbox = wait_rows(settings.db_path, "SELECT * FROM outbox ORDER BY created, id", 2)
        reports = sorted((json.loads(r["body"]) for r in outbox), key=lambda r: r["host"])
        assert [(r["host"], r["match"], r["entry"], r["school_id"]) for r in reports] == [
            ("gallery.test", "url", "1", "79-TH-0001"), ("photos.test", "pdq", "img-1", "79-TH-0001")]
        assert all(r["delivered"] is None and r["kind"] == "authority_report" for r in outbox)
        assert "holiday" not in json.dumps(reports) and "127.0.0" not in json.dumps(reports)

        # Metrics count the matches by kind, with no host or list entry in any label.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            metrics = r.read().decode()
        assert 'schoolgate_image_matches_total{kind="pdq"} 1.0' in metrics
        assert 'schoolgate_image_matches_total{kind="sha256"} 2.0' in metrics
        assert 'schoolgate_images_checked_total{result="hashed"} 2.0' in metrics  # copy.jpg and beach.jpg
        assert "photos.test" not in metrics and "gallery.test" not in metrics and "img-1" not in metrics

        # A tampered list is refused; the verified one keeps working.
        lists.serve("/hashes.txt", hashes.replace(b"img-1", b"img-X"))
        out = run_cli("lists", "update", "authority-images", "--force", *cli_sets(settings))
        assert out.returncode == 1 and "signature check failed" in out.stdout
        status, headers, _ = curl(proxy.url, "https://photos.test/holiday/copy.jpg", STUDENT, ca=ca,
                                  accept="image/*")
        assert headers["content-type"] == "image/svg+xml"

    # `schoolgate explain` says nothing unblocks it, and does not repeat the entry.
    out = run_cli("explain", "https://gallery.test/album/42/p.jpg", "--group", "staff", *cli_sets(settings))
    assert "BLOCK (illegal)" in out.stdout and "locked: no policy can unblock it" in out.stdout
    assert "nothing unblocks it, for any group" in out.stdout
