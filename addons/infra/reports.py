"""Period reports from the store: the SQL, and the printable HTML form."""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path

import jinja2

from ..core.report import LEVEL_NAMES, Report, SelftestRun, merge_cells, t
from .store import read_connection

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def period_bounds(start: date, end: date, tz: tzinfo) -> tuple[int, int]:
    """Unix seconds from 00:00 on `start` to 24:00 on `end`, in the school's time zone."""
    a = datetime(start.year, start.month, start.day, tzinfo=tz)
    b = datetime(end.year, end.month, end.day, tzinfo=tz) + timedelta(days=1)
    return int(a.timestamp()), int(b.timestamp())


def build_report(db: Path, start: date, end: date, tz: tzinfo, *, school_name: str = "", school_id: str = "",
                 version: str = "", category_names: dict[str, tuple[str, str]] | None = None,
                 list_entries: dict[str, int] | None = None, lists_built: str = "") -> Report:
    t0, t1 = period_bounds(start, end, tz)
    r = Report(start, end, school_name, school_id, datetime.now(tz).isoformat(timespec="minutes"), version,
               category_names=category_names or {}, list_entries=list_entries or {}, lists_built=lists_built)
    with read_connection(db) as conn:
        rows = conn.execute(
            "SELECT level, category, action, SUM(count) FROM traffic_hourly WHERE hour >= ? AND hour < ? "
            "GROUP BY level, category, action", (t0, t1)).fetchall()
        r.cells = merge_cells([(row[0], row[1], row[2], int(row[3])) for row in rows])
        kinds = conn.execute(
            "SELECT kind, COALESCE(category, reason), COALESCE(detail, ''), COUNT(*) FROM incidents "
            "WHERE ts >= ? AND ts < ? AND kind IN ('alert', 'review', 'report') GROUP BY 1, 2, 3",
            (t0, t1)).fetchall()
        for kind, what, detail, n in kinds:
            if kind == "alert":
                r.alerts[what] = r.alerts.get(what, 0) + n
            elif kind == "review":
                outcome = detail or "pending"
                r.reviews[outcome] = r.reviews.get(outcome, 0) + n
            else:
                r.reports_received += n
        r.dropped_incidents = int(conn.execute(
            "SELECT COALESCE(SUM(count), 0) FROM dropped_incidents WHERE hour >= ? AND hour < ?",
            (t0, t1)).fetchone()[0])
        runs = conn.execute(
            "SELECT started, COALESCE(stopped, last_seen) FROM proxy_runs WHERE started < ? AND "
            "COALESCE(stopped, last_seen) > ?", (t1, t0)).fetchall()
        now = int(time.time())
        span = max(1, min(t1, now) - t0)
        covered = _union_length([(max(a, t0), min(b, t1, now)) for a, b in runs])
        r.uptime_ratio = min(1.0, covered / span)
        r.selftests = [SelftestRun(int(ts), g, int(c), int(f)) for ts, g, c, f in conn.execute(
            "SELECT ts, group_id, checks, failures FROM selftests WHERE ts >= ? AND ts < ? ORDER BY ts",
            (t0, t1)).fetchall()]
    return r


def _union_length(spans: list[tuple[int, int]]) -> int:
    total, end = 0, None
    for a, b in sorted(s for s in spans if s[1] > s[0]):
        if end is None or a > end:
            total += b - a
            end = b
        elif b > end:
            total += b - end
            end = b
    return total


def render_html(r: Report, lang: str) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    return env.get_template("report.html").render(
        r=r, lang=lang, t=lambda key: t(key, lang), level_names=LEVEL_NAMES,
        selftest_time=lambda ts: datetime.fromtimestamp(ts).strftime("%d/%m/%Y %H:%M"))


def store_selftest(db: Path, group_id: str, checks: int, failures: int, detail: list[dict[str, object]]) -> None:
    import sqlite3

    from .store import migrate

    migrate(db)
    conn = sqlite3.connect(db, timeout=10)
    try:
        with conn:
            conn.execute("INSERT INTO selftests (ts, group_id, checks, failures, detail) VALUES (?, ?, ?, ?, ?)",
                         (int(time.time()), group_id, checks, failures, json.dumps(detail, ensure_ascii=False)))
    finally:
        conn.close()
