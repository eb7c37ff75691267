import csv
import io
import json
from datetime import date

from addons.core.report import (
    Cell,
    Report,
    SelftestRun,
    merge_cells,
    render_csv,
    render_json,
    render_text,
)


def sample() -> Report:
    r = Report(date(2025, 12, 1), date(2026, 11, 30), "THCS Lê Lợi", "79-123", "2026-11-30T10:00", "0.1.0",
               category_names={"gambling": ("Cờ bạc", "Gambling"), "games": ("Trò chơi", "Games")})
    r.cells = merge_cells([("lower-secondary", "gambling", "block", 40), ("lower-secondary", "gambling", "allow", 0),
                           ("lower-secondary", "games", "block", 10), ("primary", "", "allow", 500),
                           ("primary", "games", "block", 70)])
    r.alerts = {"self_harm": 2}
    r.reviews = {"approved": 3, "pending": 1}
    r.reports_received = 4
    r.selftests = [SelftestRun(1_764_000_000, "grade-7", 12, 0)]
    r.uptime_ratio = 0.987
    return r


def test_aggregates() -> None:
    r = sample()
    assert r.total_blocked == 120 and r.total_allowed == 500
    assert r.top_blocked() == [("games", 80), ("gambling", 40)]
    assert [level for level, _ in r.by_level()] == ["primary", "lower-secondary"]
    assert merge_cells([("a", "b", "block", 1), ("a", "b", "allow", 2)]) == [Cell("a", "b", 1, 2)]


def test_text_in_both_languages() -> None:
    vi = render_text(sample(), "vi")
    assert "Báo cáo lọc nội dung Internet — THCS Lê Lợi" in vi and "Trò chơi" in vi and "98.7%" in vi
    assert "Chưa phân loại" in vi and "grade-7" in vi
    en = render_text(sample(), "en")
    assert "Most blocked categories" in en and "Games" in en and "Uncategorised" in en


def test_json_and_csv() -> None:
    data = json.loads(render_json(sample()))
    assert data["total_blocked"] == 120 and data["top_blocked"][0] == ["games", 80] and data["start"] == "2025-12-01"
    rows = list(csv.reader(io.StringIO(render_csv(sample(), "vi"))))
    assert rows[0] == ["level", "level_name", "category", "category_name", "blocked", "allowed"]
    assert ["primary", "Tiểu học", "games", "Trò chơi", "70", "0"] in rows
