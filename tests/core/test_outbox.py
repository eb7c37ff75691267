"""Authority reports carry the list, the entry, the host and the time: nothing
about who saw it."""

from __future__ import annotations

import json

from addons.core.outbox import AUTHORITY_FIELDS, OutboxKind, ReportDeduper, authority_report


def test_authority_report_holds_only_its_fields() -> None:
    item = authority_report(school_id="79-001", ts=1764000000, category="csam", list_id="sources/a/csam.hashes",
                            entry_id="img-4", match="pdq", host="img.bad.test", distance=12)
    assert item.kind is OutboxKind.AUTHORITY_REPORT and item.created == 1764000000
    body = json.loads(item.body)
    assert tuple(sorted(body)) == tuple(sorted(AUTHORITY_FIELDS))
    assert body["id"] == item.id and body["entry"] == "img-4" and body["distance"] == 12
    assert body["host"] == "img.bad.test" and body["match"] == "pdq" and body["school_id"] == "79-001"
    assert item.payload == body
    other = authority_report(school_id="", ts=1, category="csam", list_id="l", entry_id="1", match="url", host="h")
    assert other.id != item.id  # each report its own id, for idempotent delivery
    # The same match on the same day has the same id, even after a restart: queued and stored once.
    again = authority_report(school_id="79-001", ts=1764000000 + 60, category="csam", list_id="sources/a/csam.hashes",
                             entry_id="img-4", match="pdq", host="img.bad.test", distance=12)
    assert again.id == item.id and len(item.id) == 32
    tomorrow = authority_report(school_id="79-001", ts=1764000000 + 86_400, category="csam",
                                list_id="sources/a/csam.hashes", entry_id="img-4", match="pdq", host="img.bad.test")
    assert tomorrow.id != item.id


def test_deduper_reports_once_per_window() -> None:
    d = ReportDeduper(window_seconds=100, max_keys=3)
    key = ("list", "7", "bad.test")
    assert d.first(key, 1000) and not d.first(key, 1050) and not d.first(key, 1099)
    assert d.first(key, 1100)  # a day later: a new report
    assert d.first(("list", "8", "bad.test"), 1100)
    for i in range(10):  # bounded memory: old keys are forgotten first
        d.first(("list", str(i), "x.test"), 5000 + i * 200)
    assert len(d._seen) <= 3
    for i in range(10):  # even when every key is recent
        d.first(("list", str(i), "y.test"), 9000)
    assert len(d._seen) <= 3
