"""The personal-information warning's "send anyway", shared by every proxy worker:
the child's next post may reach another process. A row is a keyed hash of the
device and the site (the store never holds either) and when the permission ends;
expired rows are deleted at the next "send anyway"."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from .signins import execute  # one short transaction, the store created or migrated first
from .store import read_connection


def allow(db: Path, key: str, until: float, now: float | None = None) -> None:
    ts = int(time.time() if now is None else now)
    execute(db, ("DELETE FROM personal_info_bypass WHERE until <= ?", (ts,)),
             ("INSERT OR REPLACE INTO personal_info_bypass (key, until) VALUES (?, ?)", (key, int(until))))


def allowed(db: Path, key: str, now: float | None = None) -> float:
    """When the permission for `key` ends (unix seconds), 0 if there is none in force."""
    if not db.exists():
        return 0.0
    ts = int(time.time() if now is None else now)
    with read_connection(db) as conn:
        try:
            row = conn.execute("SELECT until FROM personal_info_bypass WHERE key = ? AND until > ?",
                               (key, ts)).fetchone()
        except sqlite3.OperationalError:
            return 0.0  # the store predates the table: allow() adds it
    return float(row[0]) if row else 0.0
