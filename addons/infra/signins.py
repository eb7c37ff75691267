"""Staff sign-ins on the reserved host, in the store: every proxy worker process
reads them every second (OverrideWatcher), so a sign-in holds whichever worker
the device's next connection reaches, and survives a restart. A row is the
device's address, the group and the expiry; it is deleted at sign-out and
removed once expired."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from .store import migrate, read_connection


def _write(db: Path, sql: str, args: tuple[object, ...], now: float) -> None:
    migrate(db)
    conn = sqlite3.connect(db, timeout=10)
    try:
        with conn:
            conn.execute("DELETE FROM signins WHERE expires <= ?", (int(now),))
            conn.execute(sql, args)
    finally:
        conn.close()


def add(db: Path, address: str, group: str, expires: float, now: float | None = None) -> None:
    _write(db, "INSERT OR REPLACE INTO signins (address, group_id, expires) VALUES (?, ?, ?)",
           (address, group, int(expires)), time.time() if now is None else now)


def remove(db: Path, address: str, now: float | None = None) -> None:
    _write(db, "DELETE FROM signins WHERE address = ?", (address,), time.time() if now is None else now)


def active(db: Path, now: float | None = None) -> dict[str, tuple[str, float]]:
    """Device address → (group, expiry) of the sign-ins in force."""
    if not db.exists():
        return {}
    ts = int(time.time() if now is None else now)
    with read_connection(db) as conn:
        try:
            rows = conn.execute("SELECT address, group_id, expires FROM signins WHERE expires > ?", (ts,)).fetchall()
        except sqlite3.OperationalError:
            return {}  # the store predates shared sign-ins
    return {r[0]: (r[1], float(r[2])) for r in rows}
