"""Teachers' overrides in the store: written by the CLI and the dashboard, read by
the proxy every second."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from ..core.domains import HostError, normalise_host
from ..core.overrides import Override
from .store import migrate, read_connection

KINDS = ("focus", "unblock")


def _row(r: sqlite3.Row | tuple) -> Override:  # type: ignore[type-arg]
    return Override(int(r[0]), r[1], r[2], tuple(json.loads(r[3])), int(r[4]), int(r[5]), r[6], r[7])


def add(db: Path, kind: str, group: str, domains: list[str], minutes: float, created_by: str,
        note: str = "", now: float | None = None, max_minutes: int = 7 * 24 * 60) -> Override:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    if not domains:
        raise ValueError("give at least one site (--allow for focus, --unblock for unblock)")
    if not 1 <= minutes <= max_minutes:
        raise ValueError(f"minutes must be between 1 and {max_minutes}")
    clean = []
    for d in domains:
        try:
            clean.append(normalise_host(d.split("://", 1)[-1].split("/", 1)[0]))
        except HostError as e:
            raise ValueError(f"'{d}' is not a site: {e}") from None
    migrate(db)
    start = int(time.time() if now is None else now)
    conn = sqlite3.connect(db, timeout=10)
    try:
        with conn:
            cur = conn.execute(
                "INSERT INTO overrides (kind, group_id, domains, starts, ends, created_by, note) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (kind, group, json.dumps(sorted(set(clean))), start, start + int(minutes * 60), created_by, note))
            oid = int(cur.lastrowid or 0)
    finally:
        conn.close()
    return Override(oid, kind, group, tuple(sorted(set(clean))), start, start + int(minutes * 60), created_by, note)


def remove(db: Path, oid: int, now: float | None = None) -> bool:
    migrate(db)
    ts = int(time.time() if now is None else now)
    conn = sqlite3.connect(db, timeout=10)
    try:
        with conn:
            cur = conn.execute("UPDATE overrides SET ends = ?, removed = 1 WHERE id = ? AND ends > ?", (ts, oid, ts))
            return cur.rowcount > 0
    finally:
        conn.close()


def active(db: Path, now: float | None = None) -> list[Override]:
    """Overrides in force now (or starting later), oldest first."""
    if not db.exists():
        return []
    ts = int(time.time() if now is None else now)
    with read_connection(db) as conn:
        try:
            rows = conn.execute("SELECT id, kind, group_id, domains, starts, ends, created_by, note FROM overrides "
                                "WHERE ends > ? ORDER BY id", (ts,)).fetchall()
        except sqlite3.OperationalError:
            return []  # the store predates overrides: none yet
    return [_row(r) for r in rows]
