"""Benchmark: the yearly report from a database holding a year of realistic data.

A school of 500 students (grades 1-12 and staff), 10 million requests counted in
hourly aggregates over a school year, 100,000 incidents. Prints the time to
build the report and render each format. Target: under 5 seconds.

    .venv/bin/python bench/report.py [--requests 10000000] [--incidents 100000]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from addons.core.report import render_csv, render_json, render_text  # noqa: E402
from addons.infra.reports import build_report, render_html  # noqa: E402
from addons.infra.store import migrate  # noqa: E402

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
GROUPS = [(f"grade-{g}", lvl) for g, lvl in [(1, "primary"), (2, "primary"), (3, "primary"), (4, "primary"),
          (5, "primary"), (6, "lower-secondary"), (7, "lower-secondary"), (8, "lower-secondary"),
          (9, "lower-secondary"), (10, "upper-secondary"), (11, "upper-secondary"), (12, "upper-secondary")]]
GROUPS += [("staff", ""), ("guest", "")]
CATEGORIES = ["", "adult", "gambling", "games", "social_networks", "violence", "drugs", "malware", "phishing",
              "proxy", "vpn", "chat", "dating", "warez"]


def generate(db: Path, requests: int, incidents: int, start: date) -> None:
    migrate(db)
    rng = random.Random(7)
    t0 = int(datetime(start.year, start.month, start.day, tzinfo=TZ).timestamp())
    school_hours = [t0 + d * 86400 + h * 3600 for d in range(365) for h in range(7, 17)
                    if (start + timedelta(days=d)).weekday() < 5]
    rows: dict[tuple[int, str, str, str, str], int] = {}
    per_hour = requests / len(school_hours)
    for hour in school_hours:
        remaining = int(per_hour)
        for gid, level in GROUPS:
            share = remaining // len(GROUPS)
            allowed = int(share * 0.95)
            rows[(hour, gid, level, "", "allow")] = allowed
            for _ in range(3):
                cat = rng.choice(CATEGORIES[1:])
                rows[(hour, gid, level, cat, "block")] = rows.get((hour, gid, level, cat, "block"), 0) + (share - allowed) // 3
    conn = sqlite3.connect(db)
    with conn:
        conn.executemany(
            "INSERT INTO traffic_hourly VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(h, g, lvl, c, a, "default" if a == "allow" else "category", n) for (h, g, lvl, c, a), n in rows.items()])
        kinds = ["block"] * 90 + ["alert"] * 4 + ["review"] * 4 + ["report"] * 2
        conn.executemany(
            "INSERT INTO incidents (ts, kind, severity, group_id, grade, level, reason, category, host, path, "
            "client_ref, detail) VALUES (?, ?, 'info', ?, NULL, ?, 'category', ?, ?, '/', ?, ?)",
            [(rng.choice(school_hours) + rng.randrange(3600), rng.choice(kinds), g, lvl, rng.choice(CATEGORIES[1:]),
              f"site{rng.randrange(5000)}.example", f"k:{rng.randrange(500):016x}",
              rng.choice([None, "approved", "denied"]))
             for g, lvl in (rng.choice(GROUPS) for _ in range(incidents))])
        conn.execute("INSERT INTO proxy_runs (started, last_seen, version) VALUES (?, ?, 'bench')",
                     (t0, t0 + 364 * 86400))
    total = conn.execute("SELECT SUM(count), COUNT(*) FROM traffic_hourly").fetchone()
    conn.close()
    print(f"generated: {total[0]:,} requests in {total[1]:,} hourly rows, {incidents:,} incidents")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=10_000_000)
    ap.add_argument("--incidents", type=int, default=100_000)
    args = ap.parse_args()
    start = date(2025, 9, 5)
    end = start + timedelta(days=364)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "schoolgate.db"
        t = time.perf_counter()
        generate(db, args.requests, args.incidents, start)
        print(f"generate: {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        report = build_report(db, start, end, TZ, school_name="Benchmark school")
        build = time.perf_counter() - t
        timings = {"build (SQL)": build}
        for name, fn in [("text", lambda: render_text(report, "vi")), ("json", lambda: render_json(report)),
                         ("csv", lambda: render_csv(report, "vi")), ("html", lambda: render_html(report, "vi"))]:
            t = time.perf_counter()
            fn()
            timings[name] = time.perf_counter() - t
        print(f"{'step':<14}{'seconds':>10}")
        for k, v in timings.items():
            print(f"{k:<14}{v:>10.3f}")
        worst = build + max(v for k, v in timings.items() if k != "build (SQL)")
        print(f"yearly report, slowest format: {worst:.2f} s (target < 5 s): {'OK' if worst < 5 else 'TOO SLOW'}")
        print(f"blocked {report.total_blocked:,}, allowed {report.total_allowed:,}")


if __name__ == "__main__":
    main()
