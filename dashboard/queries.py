"""Every read the dashboard makes, in one place. Aggregates only where children
are concerned: no view returns a device's or a child's browsing history."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from addons.core.privacy import suppress_small
from addons.infra.store import read_connection


def _in(groups: tuple[str, ...] | None, column: str = "group_id") -> tuple[str, list[str]]:
    if groups is None:
        return "1=1", []
    return f"{column} IN ({', '.join('?' * len(groups))})" if groups else "0=1", list(groups)


def midnight(tz: tzinfo, days_ago: int = 0) -> int:
    now = datetime.now(tz)
    start = datetime(now.year, now.month, now.day, tzinfo=tz) - timedelta(days=days_ago)
    return int(start.timestamp())


def proxy_status(db: Path) -> dict[str, Any]:
    with read_connection(db) as conn:
        row = conn.execute("SELECT started, last_seen, stopped, version FROM proxy_runs ORDER BY id DESC LIMIT 1"
                           ).fetchone()
    if row is None:
        return {"up": False, "last_seen": None, "version": None}
    up = row["stopped"] is None and time.time() - row["last_seen"] < 15
    return {"up": up, "last_seen": row["last_seen"], "started": row["started"], "version": row["version"]}


def today_counts(db: Path, tz: tzinfo, groups: tuple[str, ...] | None) -> dict[str, int]:
    where, args = _in(groups)
    with read_connection(db) as conn:
        rows = conn.execute(f"SELECT action, SUM(count) FROM traffic_hourly WHERE hour >= ? AND {where} "
                            "GROUP BY action", [midnight(tz), *args]).fetchall()
    out = {"allow": 0, "block": 0}
    out.update({r[0]: int(r[1]) for r in rows})
    return out


def blocks_per_day(db: Path, tz: tzinfo, groups: tuple[str, ...] | None, days: int = 14) -> list[tuple[str, int]]:
    where, args = _in(groups)
    start = midnight(tz, days - 1)
    with read_connection(db) as conn:
        rows = conn.execute(f"SELECT hour, SUM(count) FROM traffic_hourly WHERE action = 'block' AND hour >= ? "
                            f"AND {where} GROUP BY hour", [start, *args]).fetchall()
    per: dict[str, int] = {}
    for hour, n in rows:
        day = datetime.fromtimestamp(hour, tz).strftime("%d/%m")
        per[day] = per.get(day, 0) + int(n)
    return [((datetime.fromtimestamp(start, tz) + timedelta(days=i)).strftime("%d/%m"),
             per.get((datetime.fromtimestamp(start, tz) + timedelta(days=i)).strftime("%d/%m"), 0))
            for i in range(days)]


def blocks_by_category(db: Path, tz: tzinfo, groups: tuple[str, ...] | None, days: int = 14) -> list[tuple[str, int]]:
    where, args = _in(groups)
    with read_connection(db) as conn:
        rows = conn.execute(f"SELECT category, SUM(count) FROM traffic_hourly WHERE action = 'block' AND hour >= ? "
                            f"AND {where} GROUP BY category ORDER BY 2 DESC", [midnight(tz, days - 1), *args]
                            ).fetchall()
    return [(r[0], int(r[1])) for r in rows]


def blocks_by_level(db: Path, tz: tzinfo, days: int = 14) -> list[tuple[str, int]]:
    with read_connection(db) as conn:
        rows = conn.execute("SELECT level, SUM(count) FROM traffic_hourly WHERE action = 'block' AND hour >= ? "
                            "GROUP BY level ORDER BY 2 DESC", [midnight(tz, days - 1)]).fetchall()
    return [(r[0], int(r[1])) for r in rows]


def reviews(db: Path, groups: tuple[str, ...] | None, status: str | None = None) -> list[dict[str, Any]]:
    where, args = _in(groups)
    if status:
        where += " AND status = ?"
        args.append(status)
    with read_connection(db) as conn:
        return [dict(r) for r in conn.execute(f"SELECT * FROM review_requests WHERE {where} ORDER BY id DESC LIMIT 200",
                                              args)]


def review(db: Path, rid: int) -> dict[str, Any] | None:
    with read_connection(db) as conn:
        row = conn.execute("SELECT * FROM review_requests WHERE id = ?", (rid,)).fetchone()
    return dict(row) if row else None


def reports(db: Path) -> list[dict[str, Any]]:
    with read_connection(db) as conn:
        return [dict(r) for r in conn.execute("SELECT * FROM reports ORDER BY id DESC LIMIT 200")]


def incidents(db: Path, groups: tuple[str, ...] | None, kinds: tuple[str, ...], limit: int = 200) -> list[dict[str, Any]]:
    where, args = _in(groups)
    kind_where = f"kind IN ({', '.join('?' * len(kinds))})"
    with read_connection(db) as conn:
        return [dict(r) for r in conn.execute(
            f"SELECT id, ts, kind, severity, group_id, grade, level, reason, category, host, path, client_ref, "
            f"detail FROM incidents WHERE {kind_where} AND {where} ORDER BY id DESC LIMIT ?", [*kinds, *args, limit])]


def count_incidents(db: Path, groups: tuple[str, ...] | None, kind: str, since: int) -> int:
    where, args = _in(groups)
    with read_connection(db) as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM incidents WHERE kind = ? AND ts >= ? AND {where}",
                                [kind, since, *args]).fetchone()[0])


def audit(db: Path, limit: int = 200) -> list[dict[str, Any]]:
    with read_connection(db) as conn:
        return [dict(r) for r in conn.execute(
            "SELECT id, ts, user_name, action, target, reverted_by FROM audit ORDER BY id DESC LIMIT ?", (limit,))]


def audit_entry(db: Path, aid: int) -> dict[str, Any] | None:
    with read_connection(db) as conn:
        row = conn.execute("SELECT * FROM audit WHERE id = ?", (aid,)).fetchone()
    return dict(row) if row else None


def department_figures(db: Path, tz: tzinfo, days: int, minimum: int) -> dict[str, Any]:
    """Counts per level x category x action over `days`; cells under `minimum` suppressed."""
    with read_connection(db) as conn:
        rows = conn.execute("SELECT level, category, action, SUM(count) FROM traffic_hourly WHERE hour >= ? "
                            "GROUP BY level, category, action", [midnight(tz, days - 1)]).fetchall()
    cells = suppress_small({(r[0], r[1], r[2]): int(r[3]) for r in rows}, minimum)
    return {"days": days, "minimum": minimum,
            "cells": [{"level": k[0], "category": k[1], "action": k[2], "count": v} for k, v in sorted(cells.items())]}
