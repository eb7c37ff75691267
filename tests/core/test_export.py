"""Exports carry aggregates only: small cells are suppressed, and nothing that
could identify a child (address, pseudonym, URL, path, group) can leave."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from addons.core.export import (
    ExportError,
    ExportInput,
    build_export,
    check_export,
    encode,
    ends_a_day,
    next_period,
    period_start,
    report_id,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = int(datetime(2026, 11, 24, 9, 0, tzinfo=VN).timestamp())


def data(**kw: object) -> ExportInput:
    base = ExportInput("79-TH-0001", T0, T0 + 3600, T0 + 3700, "0.1.0", "abc123", "2026-12",
                       traffic=[("lower-secondary", "games", "block", 12), ("lower-secondary", "", "allow", 340),
                                ("lower-secondary", "adult", "block", 2), ("", "", "allow", 40),
                                ("primary", "games", "block", 3), ("primary", "games", "block", 3)],
                       lists=[("blocklists/adult/domains", "adult", 1200, T0 - 86400)],
                       uptime_seconds=3600)
    for k, v in kw.items():
        setattr(base, k, v)
    return base


def test_small_cells_are_suppressed_and_counted() -> None:
    e = build_export(data(), min_cell=5)
    cells = {(c["level"], c["category"], c["action"]): c["count"] for c in e["counts"]}
    assert cells == {("lower-secondary", "games", "block"): 12, ("lower-secondary", "uncategorised", "allow"): 340,
                     ("other", "uncategorised", "allow"): 40, ("primary", "games", "block"): 6}
    assert e["suppressed_cells"] == 1  # adult: 2, under 5
    assert e["id"] == report_id("79-TH-0001", T0) == f"79-TH-0001:{T0}"
    assert e["daily"] is None and "harmful_domains" not in e
    assert e["health"] == {"period_seconds": 3600, "uptime_seconds": 3600, "incidents_dropped": 0, "selftest": None}


def test_the_closing_export_of_a_day_carries_the_days_alerts_reviews_and_reports() -> None:
    e = build_export(data(day="2026-11-24", alerts=[("self_harm", 6), ("bullying", 1)],
                          reviews=[("approved", 5), ("pending", 2)], reports=[("new", 9)],
                          harmful=[("bad-new.test", "adult"), ("bad-new.test", "adult")]), min_cell=5)
    assert e["daily"] == {"day": "2026-11-24", "alerts": [{"type": "self_harm", "count": 6}],
                          "reviews": [{"outcome": "approved", "count": 5}], "reports": [{"outcome": "new", "count": 9}],
                          "suppressed_cells": 2}
    assert e["harmful_domains"] == [{"domain": "bad-new.test", "category": "adult"}]


@pytest.mark.parametrize("minimum", [1, 5, 10, 50])
def test_no_export_holds_a_cell_under_the_minimum(minimum: int) -> None:
    e = build_export(data(day="2026-11-24", alerts=[("self_harm", 7)], reviews=[("approved", 3)]), minimum)
    counts = [c["count"] for c in e["counts"]] + [c["count"] for k in ("alerts", "reviews", "reports")
                                                   for c in e["daily"][k]]
    assert all(n >= minimum for n in counts)
    check_export(e, minimum)


def test_nothing_personal_can_leave() -> None:
    text = encode(build_export(data(day="2026-11-24", alerts=[("self_harm", 5)]), 5)).decode()
    for forbidden in ("127.0.0", "10.0.", "client", "pseudonym", "http", "grade-7"):
        assert forbidden not in text
    good = build_export(data(), 5)
    bad_cases = [
        ({**good, "client_ref": "k1:0123456789abcdef"}, "personal fields"),
        ({**good, "version": "10.0.0.7"}, "address"),
        ({**good, "policy_version": "k1:0123456789abcdef"}, "pseudonym"),
        ({**good, "counts": [{"level": "primary", "category": "games", "action": "block", "count": 9,
                              "url": "http://x.test/a"}]}, "personal fields"),
        ({**good, "harmful_domains": [{"domain": "x.test/secret", "category": "adult"}]}, "path"),
        ({**good, "harmful_domains": [{"domain": "192.168.1.1", "category": "adult"}]}, "address"),
        ({**good, "counts": [{"level": "primary", "category": "games", "action": "block", "count": 2}]}, "minimum"),
        ({**good, "id": "other:1"}, "id must be"),
        ({**good, "school_id": "bad id!"}, "school_id"),
        ({**good, "period": {"start": T0, "end": T0 + 5 * 86400}}, "period"),
        ({**good, "schema": 99}, "schema"),
    ]
    for export, message in bad_cases:
        with pytest.raises(ExportError, match=message):
            check_export(export, 5)
    with pytest.raises(ExportError):
        check_export([1, 2], None)
    check_export(json.loads(encode(good)), None)  # what the receiver checks


def test_periods_follow_local_midnight() -> None:
    t = int(datetime(2026, 11, 24, 13, 40, tzinfo=VN).timestamp())
    assert period_start(t, 1, VN) == int(datetime(2026, 11, 24, 13, tzinfo=VN).timestamp())
    assert period_start(t, 6, VN) == int(datetime(2026, 11, 24, 12, tzinfo=VN).timestamp())
    assert period_start(t, 24, VN) == int(datetime(2026, 11, 24, tzinfo=VN).timestamp())
    start = period_start(t, 8, VN)
    assert next_period(start, 8, VN) == int(datetime(2026, 11, 24, 16, tzinfo=VN).timestamp())
    last = int(datetime(2026, 11, 24, 23, tzinfo=VN).timestamp())
    midnight = next_period(last, 1, VN)
    assert midnight == int(datetime(2026, 11, 25, tzinfo=VN).timestamp()) and ends_a_day(midnight, VN)
    assert not ends_a_day(last, VN)
    # a zone with daylight saving: a day of 23 hours still ends at local midnight
    paris = ZoneInfo("Europe/Paris")
    t = int(datetime(2026, 3, 29, 12, tzinfo=paris).timestamp())
    day = period_start(t, 24, paris)
    assert next_period(day, 24, paris) - day == 23 * 3600
