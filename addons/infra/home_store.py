"""The home gateway's state in the store: the parent's choices (a new row per save;
the newest valid one is in force), pauses and "more time" (rows with an expiry),
minutes of use, blocks per category, devices seen. Written by the dashboard, read by
the proxy every second; the proxy's own writes go through the store's Writer."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

from ..core.home import CONTROL_KINDS, Control
from .store import migrate, read_connection

FOREVER = 10 * 365 * 86400  # a pause lasts until a parent resumes it


def save_config(db: Path, data: dict[str, Any], author: str, now: float) -> int:
    """Store the parent's (already validated) choices as the new version."""
    migrate(db)
    conn = sqlite3.connect(db, timeout=10)
    try:
        with conn:
            cur = conn.execute("INSERT INTO home_config (ts, body, author) VALUES (?, ?, ?)",
                               (int(now), json.dumps(data, ensure_ascii=False, sort_keys=True), author))
            return int(cur.lastrowid or 0)
    finally:
        conn.close()


def _rows(db: Path, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
    if not db.exists():
        return []
    with read_connection(db) as conn:
        try:
            return conn.execute(sql, args).fetchall()
        except sqlite3.OperationalError:
            return []  # the store predates the home tables


def config_versions(db: Path, after: int = 0, limit: int = 20) -> list[tuple[int, Any]]:
    """Newest first: (id, parsed body); a body that is not JSON is given as None."""
    out = []
    for r in _rows(db, "SELECT id, body FROM home_config WHERE id > ? ORDER BY id DESC LIMIT ?", (after, limit)):
        try:
            out.append((int(r[0]), json.loads(r[1])))
        except ValueError:
            out.append((int(r[0]), None))
    return out


def latest_config(db: Path) -> tuple[int, Any] | None:
    rows = config_versions(db, limit=1)
    return rows[0] if rows else None


def add_control(db: Path, kind: str, child: str, minutes: float | None, created_by: str, now: float) -> Control:
    if kind not in CONTROL_KINDS:
        raise ValueError(f"kind must be one of {', '.join(CONTROL_KINDS)}")
    if minutes is not None and not 1 <= minutes <= 24 * 60:
        raise ValueError("minutes must be between 1 and 1440")
    start = int(now)
    end = start + (FOREVER if minutes is None else int(minutes * 60))
    migrate(db)
    conn = sqlite3.connect(db, timeout=10)
    try:
        with conn:
            cur = conn.execute("INSERT INTO home_controls (kind, child, starts, ends, created_by) VALUES (?, ?, ?, ?, ?)",
                               (kind, child, start, end, created_by))
            return Control(int(cur.lastrowid or 0), kind, child, start, end, created_by)
    finally:
        conn.close()


def end_controls(db: Path, kind: str, child: str, now: float) -> int:
    """Resume: end the pauses (or extensions) of a child, or of the whole home ('*')."""
    migrate(db)
    conn = sqlite3.connect(db, timeout=10)
    try:
        with conn:
            cur = conn.execute("UPDATE home_controls SET ends = ?, removed = 1 WHERE kind = ? AND child = ? AND ends > ?",
                               (int(now), kind, child, int(now)))
            return cur.rowcount
    finally:
        conn.close()


def active_controls(db: Path, now: float) -> list[Control]:
    rows = _rows(db, "SELECT id, kind, child, starts, ends, created_by FROM home_controls WHERE ends > ? ORDER BY id",
                 (int(now),))
    return [Control(int(r[0]), r[1], r[2], int(r[3]), int(r[4]), r[5]) for r in rows]


def usage_minutes(db: Path, day: str) -> list[tuple[str, str, int]]:
    """Today's (child, service, minute) rows, as every proxy process wrote them."""
    return [(r[0], r[1], int(r[2])) for r in
            _rows(db, "SELECT child, service, minute FROM home_usage WHERE day = ?", (day,))]


def usage_by_day(db: Path, first: str, last: str) -> dict[tuple[str, str, str], int]:
    """(day, child, service) → minutes, for days first..last (past days compacted, today's minutes counted)."""
    out: dict[tuple[str, str, str], int] = defaultdict(int)
    for r in _rows(db, "SELECT day, child, service, minutes FROM home_daily WHERE day BETWEEN ? AND ?", (first, last)):
        out[(r[0], r[1], r[2])] += int(r[3])
    for r in _rows(db, "SELECT day, child, service, count(*) FROM home_usage WHERE day BETWEEN ? AND ? "
                       "GROUP BY day, child, service", (first, last)):
        out[(r[0], r[1], r[2])] += int(r[3])
    return dict(out)


def blocks_by_day(db: Path, first: str, last: str) -> list[tuple[str, str, str, str, int]]:
    """(day, child, reason, category or service, count) for days first..last."""
    return [(r[0], r[1], r[2], r[3], int(r[4])) for r in
            _rows(db, "SELECT day, child, reason, what, count FROM home_blocks WHERE day BETWEEN ? AND ? "
                      "ORDER BY day", (first, last))]


def seen_devices(db: Path, since: float) -> list[tuple[str, int]]:
    """Device addresses seen on the home network since `since`, most recent first."""
    return [(r[0], int(r[1])) for r in
            _rows(db, "SELECT address, last_seen FROM home_devices WHERE last_seen >= ? ORDER BY last_seen DESC",
                  (int(since),))]
