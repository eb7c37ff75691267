import sqlite3
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from addons.infra.reports import build_report, period_bounds, render_html, store_selftest
from addons.infra.store import migrate

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def seed(db: Path) -> None:
    migrate(db)
    t0, _ = period_bounds(date(2026, 1, 1), date(2026, 1, 1), TZ)
    with sqlite3.connect(db) as conn:
        conn.executemany("INSERT INTO traffic_hourly VALUES (?, ?, ?, ?, ?, ?, ?)", [
            (t0, "grade-3", "primary", "games", "block", "category", 5),
            (t0 + 3600, "grade-3", "primary", "games", "block", "category", 7),
            (t0, "grade-3", "primary", "", "allow", "default", 100),
            (t0 - 3600, "grade-3", "primary", "games", "block", "category", 999),  # before the period
        ])
        conn.executemany("INSERT INTO incidents (ts, kind, severity, group_id, reason, category, detail) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)", [
            (t0 + 10, "alert", "high", "grade-3", "phrase", "self_harm", None),
            (t0 + 20, "review", "info", "grade-3", "category", "games", "approved"),
            (t0 + 30, "review", "info", "grade-3", "category", "games", None),
            (t0 + 40, "report", "info", "grade-3", "report", None, None),
        ])
        conn.execute("INSERT INTO proxy_runs (started, last_seen, stopped, version) VALUES (?, ?, ?, '0.1.0')",
                     (t0, t0 + 43200, t0 + 43200))


def test_report_from_the_store(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    seed(db)
    store_selftest(db, "grade-3", 10, 1, [{"check": "category:games"}])
    r = build_report(db, date(2026, 1, 1), date(2026, 1, 1), TZ, school_name="TH Kim Đồng",
                     category_names={"games": ("Trò chơi", "Games")})
    assert r.total_blocked == 12 and r.total_allowed == 100
    assert r.alerts == {"self_harm": 1} and r.reviews == {"approved": 1, "pending": 1} and r.reports_received == 1
    assert abs(r.uptime_ratio - 0.5) < 0.01
    assert r.selftests == []  # stored now, outside the 2026-01-01 period
    html = render_html(r, "vi")
    assert "Báo cáo lọc nội dung Internet" in html and "@media print" in html and "Trò chơi" in html
    assert "<script" not in html and "http" not in html.split("<body>")[0]


def test_period_bounds_use_the_school_time_zone() -> None:
    a, b = period_bounds(date(2026, 1, 1), date(2026, 1, 2), TZ)
    assert b - a == 2 * 86400 and a % 86400 == 17 * 3600  # midnight in Hanoi is 17:00 UTC
