"""The school side of the department export: periods queued from the store,
nothing personal in them, and the outbox delivered with retries.

The sender here is a function standing in for the network, so that the retry
rules can be checked hour by hour; tests/e2e/test_department.py sends the same
outbox over real HTTPS to a real department server."""

from __future__ import annotations

import json
import random
import sqlite3
import stat
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from addons.core.export import check_export
from addons.core.settings import Settings
from addons.infra import export, signing
from addons.infra.export import DeliveryError, Sent
from addons.infra.store import migrate

VN = ZoneInfo("Asia/Ho_Chi_Minh")
HOUR = 3600


def at(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=VN).timestamp())


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    s = Settings(data_dir=str(tmp_path / "data"), department_url="https://dept.test:8443/",
                 school_id="79-TH-0001", export_retry_seconds=60, export_retry_max_seconds=3600)
    s.data_path.mkdir()
    migrate(s.db_path)
    return s


def rows(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def queued(settings: Settings) -> list[dict]:
    return [json.loads(b) for (b,) in rows(settings.db_path, "SELECT body FROM outbox WHERE kind = "
                                           "'department_export' ORDER BY created, id")]


def seed_day(db: Path, day_start: int) -> None:
    """Traffic, alerts, reviews and reports of one school day, with the personal
    columns filled in as the proxy fills them."""
    with sqlite3.connect(db) as conn:
        conn.executemany("INSERT INTO traffic_hourly VALUES (?, ?, ?, ?, ?, ?, ?)", [
            (day_start + 8 * HOUR, "lop-3a", "primary", "games", "block", "category", 6),
            (day_start + 8 * HOUR, "lop-3b", "primary", "games", "block", "category", 4),  # summed: 10
            (day_start + 8 * HOUR, "lop-3a", "primary", "adult", "block", "category", 2),  # under 5: dropped
            (day_start + 8 * HOUR, "lop-3a", "primary", "", "allow", "default", 300),
            (day_start + 9 * HOUR, "lop-9", "lower-secondary", "social", "block", "category", 12),
        ])
        incidents = []
        for i in range(6):
            incidents.append((day_start + 8 * HOUR + i, "alert", "high", "lop-3a", "phrase", "self_harm",
                              "self-harm.example", "/page/secret", f"79:{i:016x}", f"10.0.0.{i + 1}"))
        for i in range(3):  # a rare alert type: must not leave the school
            incidents.append((day_start + 9 * HOUR + i, "alert", "high", "lop-3a", "phrase", "extremism",
                              "x.example", "/p", f"79:{i:016x}", f"10.0.0.{i + 1}"))
        conn.executemany("INSERT INTO incidents (ts, kind, severity, group_id, reason, category, host, path, "
                         "client_ref, client_addr) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", incidents)
        conn.executemany("INSERT INTO review_requests (ts, host, group_id, reason, category, child_note, status) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)",
                         [(day_start + 10 * HOUR + i, "wiki.example", "lop-3a", "category", "games",
                           "em cần cho bài tập", "approved") for i in range(5)])
        conn.executemany("INSERT INTO reports (ts, url, kind, description, group_id) VALUES (?, ?, ?, ?, ?)",
                         [(day_start + 11 * HOUR, "https://bad.example/x", "bullying", "Nguyễn Văn A", "lop-3a")])


def test_school_key_is_created_once_and_private(settings: Settings) -> None:
    private, public = export.school_key(settings.data_path)
    assert export.school_key(settings.data_path) == (private, public)
    assert stat.S_IMODE((settings.data_path / "school.key").stat().st_mode) == 0o600
    signing.verify(b"x", signing.sign(b"x", private), public)


def test_nothing_is_queued_without_a_department(tmp_path: Path) -> None:
    s = Settings(data_dir=str(tmp_path))
    assert export.enqueue_due(s.db_path, s, at("2026-11-20T10:05"), version="1") == []
    assert export.deliver_due(s.db_path, s, at("2026-11-20T10:05")).delivered == 0
    assert not s.db_path.exists() or rows(s.db_path, "SELECT COUNT(*) FROM outbox") == [(0,)]


def test_first_run_exports_the_last_period_then_every_period_once(settings: Settings) -> None:
    ids = export.enqueue_due(settings.db_path, settings, at("2026-11-20T10:05"), version="1")
    assert ids == [f"79-TH-0001:{at('2026-11-20T09:00')}"]
    # Not yet settled: the 10:00-11:00 period is exported a minute after it ends.
    assert export.enqueue_due(settings.db_path, settings, at("2026-11-20T11:00:30"), version="1") == []
    ids = export.enqueue_due(settings.db_path, settings, at("2026-11-20T14:02"), version="1")
    assert ids == [f"79-TH-0001:{at(f'2026-11-20T{h}:00')}" for h in (10, 11, 12, 13)]
    assert export.enqueue_due(settings.db_path, settings, at("2026-11-20T14:30"), version="1") == []
    exports = queued(settings)
    assert [e["period"]["end"] - e["period"]["start"] for e in exports] == [HOUR] * 5
    assert all(b["period"]["start"] == a["period"]["end"] for a, b in zip(exports, exports[1:]))


def test_a_long_stop_is_caught_up_but_bounded(settings: Settings) -> None:
    export.enqueue_due(settings.db_path, settings, at("2026-01-01T00:05"), version="1")
    ids = export.enqueue_due(settings.db_path, settings, at("2026-03-01T00:05"), version="1")
    assert len(ids) == export.MAX_CATCH_UP
    assert ids[-1] == f"79-TH-0001:{at('2026-02-28T23:00')}"
    assert export.enqueue_due(settings.db_path, settings, at("2026-03-01T00:30"), version="1") == []


def test_six_hour_periods_start_at_local_midnight(settings: Settings) -> None:
    settings = replace(settings, export_period_hours=6)
    assert export.enqueue_due(settings.db_path, settings, at("2026-11-20T13:00"), version="1") == [
        f"79-TH-0001:{at('2026-11-20T06:00')}"]


def test_exports_carry_aggregates_only(settings: Settings) -> None:
    day = at("2026-11-19T00:00")
    seed_day(settings.db_path, day)
    export.enqueue_due(settings.db_path, settings, day + 1, version="1")  # first run: the day before
    export.enqueue_due(settings.db_path, settings, day + 24 * HOUR + 120, version="1.2.3", policy_version="pv",
                       lists=[("blocklists/games/domains", "games", 1200, day)])
    exports = {e["period"]["start"]: e for e in queued(settings)}
    assert len(exports) == 25
    eight = exports[day + 8 * HOUR]
    assert eight["counts"] == [
        {"level": "primary", "category": "games", "action": "block", "count": 10},
        {"level": "primary", "category": "uncategorised", "action": "allow", "count": 300}]
    assert eight["suppressed_cells"] == 1 and eight["version"] == "1.2.3" and eight["policy_version"] == "pv"
    assert exports[day + 9 * HOUR]["counts"] == [
        {"level": "lower-secondary", "category": "social", "action": "block", "count": 12}]
    last = exports[day + 23 * HOUR]
    assert last["daily"]["day"] == "2026-11-19"
    assert last["daily"]["alerts"] == [{"type": "self_harm", "count": 6}]
    assert last["daily"]["reviews"] == [{"outcome": "approved", "count": 5}]
    assert last["daily"]["reports"] == []  # one report: under the minimum
    assert last["daily"]["suppressed_cells"] == 2
    assert exports[day - HOUR]["daily"] == {"day": "2026-11-18", "alerts": [], "reviews": [], "reports": [],
                                            "suppressed_cells": 0}
    assert all(e["daily"] is None for s, e in exports.items() if s not in (day - HOUR, day + 23 * HOUR))
    assert "harmful_domains" not in last  # not opted in
    for e in exports.values():
        check_export(e, settings.export_min_cell)
        assert all(c["count"] >= settings.export_min_cell for c in e["counts"])
    everything = "\n".join(b for (b,) in rows(settings.db_path, "SELECT body FROM outbox"))
    for personal in ("10.0.0.", "79:0000", "lop-3", "/page/secret", "https://", "Nguyễn", "bài tập",
                     "self-harm.example", "wiki.example"):
        assert personal not in everything, personal


def test_harmful_domains_only_when_opted_in_and_seen_by_enough_clients(settings: Settings) -> None:
    settings = replace(settings, export_harmful_domains=True)
    day = at("2026-11-19T00:00")
    seed_day(settings.db_path, day)  # alerts (not blocks) on self-harm.example from 6 clients
    blocks = [(day + i, "phrase", "many-kids.example", f"79:{i:02x}") for i in range(4)]
    blocks += [(day + 50 + i, "phrase", "three-kids.example", f"79:{i % 3:02x}") for i in range(6)]
    with sqlite3.connect(settings.db_path) as conn:
        conn.executemany("INSERT INTO incidents (ts, kind, severity, group_id, reason, category, host, client_ref) "
                         "VALUES (?, 'block', 'info', 'lop-3a', ?, 'adult', ?, ?)", blocks + [
                             (day + 100, "phrase", "two-kids.example", "79:aa"),
                             (day + 101, "phrase", "two-kids.example", "79:bb"),
                             (day + 102, "category", "listed.example", "79:aa"),
                             (day + 103, "category", "listed.example", "79:bb"),
                             (day + 104, "category", "listed.example", "79:cc")])
    export.enqueue_due(settings.db_path, settings, day + 1, version="1")
    export.enqueue_due(settings.db_path, settings, day + 24 * HOUR + 120, version="1")
    last = [e for e in queued(settings) if e["daily"]][-1]
    assert last["harmful_domains"] == [{"domain": "many-kids.example", "category": "adult"},
                                       {"domain": "three-kids.example", "category": "adult"}]
    settings = replace(settings, export_harmful_min_clients=4)
    data = export.collect(sqlite3.connect(settings.db_path), settings, day + 23 * HOUR, day + 24 * HOUR,
                          day + 24 * HOUR, version="1")
    assert data.harmful == [("many-kids.example", "adult")]


def test_health_figures(settings: Settings) -> None:
    day = at("2026-11-19T00:00")
    with sqlite3.connect(settings.db_path) as conn:
        conn.execute("INSERT INTO proxy_runs (started, last_seen, stopped, version) VALUES (?, ?, ?, '1')",
                     (day + 8 * HOUR + 1800, day + 9 * HOUR + 600, None))
        conn.execute("INSERT INTO dropped_incidents (hour, count) VALUES (?, 7)", (day + 8 * HOUR,))
    data = export.collect(sqlite3.connect(settings.db_path), settings, day + 8 * HOUR, day + 9 * HOUR,
                          day + 9 * HOUR + 60, version="1")
    assert data.uptime_seconds == 1800 and data.incidents_dropped == 7


class FakeDepartment:
    """Answers like the department's receiver would, one scripted answer per call."""

    def __init__(self, public: str, answers: list[object] | None = None):
        self.public = public
        self.answers = list(answers or [])
        self.calls: list[tuple[str, bytes, dict[str, str]]] = []

    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> Sent:
        self.calls.append((url, body, headers))
        signing.verify(body, headers["X-Schoolgate-Signature"], self.public)
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, Exception):
            raise answer
        return Sent(int(answer), json.dumps({"error": "period is malformed"}) if answer >= 400 else "{}")


def pending(settings: Settings) -> list[tuple]:
    return rows(settings.db_path, "SELECT id, attempts, next_attempt, last_error FROM outbox "
                                  "WHERE delivered IS NULL ORDER BY created, id")


def test_delivery_signs_and_marks_delivered(settings: Settings) -> None:
    now = at("2026-11-20T14:02")
    export.enqueue_due(settings.db_path, settings, now - 4 * HOUR, version="1")
    export.enqueue_due(settings.db_path, settings, now, version="1")
    _, public = export.school_key(settings.data_path)
    dept = FakeDepartment(public, [200, 409, 201, 200])
    result = export.deliver_due(settings.db_path, settings, now, dept)
    assert (result.delivered, result.failed) == (5, 0)
    assert pending(settings) == []
    url, body, headers = dept.calls[0]
    assert url == "https://dept.test:8443/api/v1/exports"
    assert headers["X-Schoolgate-School"] == "79-TH-0001" and headers["X-Schoolgate-Id"] == json.loads(body)["id"]
    assert export.status(settings.db_path, settings)["delivered"] == 5
    assert export.deliver_due(settings.db_path, settings, now + 60, dept).delivered == 0  # nothing left
    assert len(dept.calls) == 5


def test_authority_reports_go_to_their_own_endpoint(settings: Settings) -> None:
    with sqlite3.connect(settings.db_path) as conn:
        conn.execute("INSERT INTO outbox (id, kind, created, body) VALUES ('r1', 'authority_report', 1, '{}')")
    _, public = export.school_key(settings.data_path)
    dept = FakeDepartment(public)
    assert export.deliver_due(settings.db_path, settings, 10, dept).delivered == 1
    assert dept.calls[0][0] == "https://dept.test:8443/api/v1/authority-reports"


def test_an_unreachable_department_keeps_everything_and_backs_off(settings: Settings) -> None:
    now = at("2026-11-20T14:02")
    export.enqueue_due(settings.db_path, settings, now - 2 * HOUR, version="1")
    export.enqueue_due(settings.db_path, settings, now, version="1")
    assert len(pending(settings)) == 3
    _, public = export.school_key(settings.data_path)
    down = DeliveryError("cannot reach the department at https://dept.test:8443/api/v1/exports: refused")
    dept = FakeDepartment(public, [down, down, down])
    waits = []
    t = now
    for _ in range(3):
        result = export.deliver_due(settings.db_path, settings, t, dept)
        assert result.unreachable and result.delivered == 0 and "cannot reach" in result.error
        st = export.status(settings.db_path, settings)
        waits.append(st["retry_after"] - t)
        # Before the retry time nothing is attempted.
        assert export.deliver_due(settings.db_path, settings, st["retry_after"] - 1, dept).failed == 0
        t = st["retry_after"]
    assert len(dept.calls) == 3  # one try per round: the rest waits
    assert all(30 <= w <= 60 * 2 ** i for i, w in enumerate(waits)), waits  # doubling ceilings, jittered
    assert [r[0] for r in pending(settings)] == [e["id"] for e in queued(settings)]  # nothing lost
    st = export.status(settings.db_path, settings)
    assert st["failures"] == 3 and "cannot reach" in st["last_error"] and st["pending"] == {"department_export": 3}
    # Back again: all three are delivered and the failure count resets.
    result = export.deliver_due(settings.db_path, settings, t, dept)
    assert result.delivered == 3 and pending(settings) == []
    assert export.status(settings.db_path, settings)["failures"] == 0


def test_a_refused_export_waits_alone(settings: Settings) -> None:
    now = at("2026-11-20T14:02")
    export.enqueue_due(settings.db_path, settings, now - HOUR, version="1")
    export.enqueue_due(settings.db_path, settings, now, version="1")
    _, public = export.school_key(settings.data_path)
    dept = FakeDepartment(public, [400, 200])
    result = export.deliver_due(settings.db_path, settings, now, dept)
    assert (result.delivered, result.failed) == (1, 1)
    [(rid, attempts, next_attempt, error)] = pending(settings)
    assert attempts == 1 and now + 30 <= next_attempt <= now + 60
    assert error == "HTTP 400: period is malformed"
    assert "period is malformed" in export.status(settings.db_path, settings)["last_error"]
    # Forced (schoolgate export push), it is tried at once.
    assert export.deliver_due(settings.db_path, settings, now + 1, dept, force=True).delivered == 1


def test_backoff_grows_with_full_jitter_up_to_the_cap() -> None:
    rng = random.Random(1)
    for failures in range(1, 20):
        ceiling = min(3600, 60 * 2 ** (failures - 1))
        for _ in range(20):
            assert min(60, ceiling) / 2 <= export.backoff(failures, 60, 3600, rng) <= ceiling
    assert max(export.backoff(30, 60, 3600, rng) for _ in range(50)) > 1800


def test_outbox_depth(settings: Settings, tmp_path: Path) -> None:
    assert export.outbox_depth(tmp_path / "missing.db") == 0
    export.enqueue_due(settings.db_path, settings, at("2026-11-20T14:02"), version="1")
    assert export.outbox_depth(settings.db_path) == 1
