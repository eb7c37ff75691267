"""Staff sign-ins on the reserved host, in the store: every proxy worker process
reads them every second (OverrideWatcher), so a sign-in holds whichever worker
the device's next connection reaches, and survives a restart. A row is the
device's address, the group and the expiry; it is deleted at sign-out and
removed once expired.

Failed sign-ins (on the reserved host or through proxy authentication) are
counted here too, per device address, so that the limit holds across all
workers; a failure is forgotten after FAILURE_WINDOW, or at a successful
sign-in from the device."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from .store import migrate, read_connection

FAILURES_ALLOWED = 5  # failed sign-ins per device ...
FAILURE_WINDOW = 900  # ... in 15 minutes, counted over every proxy worker


def execute(db: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    """Run the statements in one transaction (the store is created or migrated first)."""
    migrate(db)
    conn = sqlite3.connect(db, timeout=10)
    try:
        with conn:
            for sql, args in statements:
                conn.execute(sql, args)
    finally:
        conn.close()


def _write(db: Path, sql: str, args: tuple[object, ...], now: float) -> None:
    execute(db, ("DELETE FROM signins WHERE expires <= ?", (int(now),)), (sql, args))


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


def record_failure(db: Path, address: str, now: float | None = None) -> None:
    ts = time.time() if now is None else now
    execute(db, ("DELETE FROM signin_failures WHERE at <= ?", (int(ts - FAILURE_WINDOW),)),
             ("INSERT INTO signin_failures (address, at) VALUES (?, ?)", (address, int(ts))))


def clear_failures(db: Path, address: str) -> None:
    execute(db, ("DELETE FROM signin_failures WHERE address = ?", (address,)))


def too_many_failures(db: Path, address: str, now: float | None = None) -> bool:
    """True once the device has failed FAILURES_ALLOWED times in FAILURE_WINDOW, on any worker."""
    if not db.exists():
        return False
    ts = time.time() if now is None else now
    with read_connection(db) as conn:
        try:
            (n,) = conn.execute("SELECT count(*) FROM signin_failures WHERE address = ? AND at > ?",
                                (address, int(ts - FAILURE_WINDOW))).fetchone()
        except sqlite3.OperationalError:
            return False  # the store predates shared failure counts: migrate() adds it at the first failure
    return bool(n >= FAILURES_ALLOWED)
