"""The school side of the department export: aggregates read from the store,
signed exports queued in the outbox, and the outbox delivered with retries.

Nothing is lost while the department is unreachable: every export and every
authority report waits in the `outbox` table (SQLite, so it survives restarts)
until the department acknowledges it. Delivery retries with exponential
backoff and jitter; each item has an id the receiver stores once, so a re-sent
item (an answer lost on the way back) does no harm.

Used by the Exporter addon inside the proxy and by `schoolgate export`.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..core.export import (
    ExportError,
    ExportInput,
    build_export,
    encode,
    ends_a_day,
    next_period,
    period_start,
)
from ..core.outbox import OutboxKind
from ..core.settings import Settings
from . import signing
from .download import ssl_context
from .files import atomic_write
from .reports import _union_length
from .store import migrate

logger = logging.getLogger(__name__)

KEY_FILE = "school.key"
SETTLE_SECONDS = 60  # a period is exported this long after it ends, once its counts are written
MAX_CATCH_UP = 24 * 31  # periods exported at most in one go after a long stop (older ones are skipped)
PATHS = {OutboxKind.DEPARTMENT_EXPORT.value: "/api/v1/exports",
         OutboxKind.AUTHORITY_REPORT.value: "/api/v1/authority-reports"}
USER_AGENT = "schoolgate-export/1"
TIMEOUT = 30.0


class DeliveryError(Exception):
    """The department could not be reached (network, TLS, timeout)."""


@dataclass
class Sent:
    status: int
    text: str


Sender = Callable[[str, bytes, dict[str, str]], Sent]


# -- the school's key -----------------------------------------------------------------------

def school_key(data_dir: Path) -> tuple[str, str]:
    """(private, public) base64 Ed25519 keys of the school, created on first use (mode 0600)."""
    path = data_dir / KEY_FILE
    if path.exists():
        private = path.read_text("ascii").strip()
    else:
        private, _ = signing.generate()
        atomic_write(path, (private + "\n").encode(), mode=0o600)
    return private, signing.public_key_of(private)


# -- collecting a period ------------------------------------------------------------------------

def _state(conn: sqlite3.Connection, name: str) -> str | None:
    row = conn.execute("SELECT value FROM export_state WHERE name = ?", (name,)).fetchone()
    return row[0] if row else None


def _set_state(conn: sqlite3.Connection, name: str, value: object) -> None:
    conn.execute("INSERT INTO export_state (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET "
                 "value = excluded.value", (name, str(value)))


def collect(conn: sqlite3.Connection, settings: Settings, start: int, end: int, now: int, *, version: str,
            policy_version: str = "", baseline_version: str = "",
            lists: list[tuple[str, str, int, float]] | None = None) -> ExportInput:
    """The rows of one period [start, end) from the school's store."""
    data = ExportInput(settings.school_id, start, end, now, version, policy_version, baseline_version,
                       lists=list(lists or []))
    data.traffic = [(lv, cat, act, int(n)) for lv, cat, act, n in conn.execute(
        "SELECT level, category, action, SUM(count) FROM traffic_hourly WHERE hour >= ? AND hour < ? "
        "GROUP BY level, category, action", (start, end))]
    if ends_a_day(end, settings.zone):
        day_start = int((datetime.fromtimestamp(end, settings.zone) - timedelta(days=1)).timestamp())
        data.day = datetime.fromtimestamp(day_start, settings.zone).date().isoformat()
        data.alerts = [(str(t), int(n)) for t, n in conn.execute(
            "SELECT COALESCE(category, reason), COUNT(*) FROM incidents WHERE kind = 'alert' AND ts >= ? "
            "AND ts < ? GROUP BY 1", (day_start, end))]
        data.reviews = [(str(s), int(n)) for s, n in conn.execute(
            "SELECT status, COUNT(*) FROM review_requests WHERE ts >= ? AND ts < ? GROUP BY status",
            (day_start, end))]
        data.reports = [(str(s), int(n)) for s, n in conn.execute(
            "SELECT status, COUNT(*) FROM reports WHERE ts >= ? AND ts < ? GROUP BY status", (day_start, end))]
        if settings.export_harmful_domains:
            data.harmful = [(h, c) for h, c in conn.execute(
                "SELECT host, category FROM incidents WHERE kind = 'block' AND reason = 'phrase' AND ts >= ? AND ts < ? "
                "AND host IS NOT NULL AND category IS NOT NULL GROUP BY host, category "
                "HAVING COUNT(DISTINCT client_ref) >= ?", (day_start, end, settings.export_harmful_min_clients))]
    runs = conn.execute("SELECT started, COALESCE(stopped, last_seen) FROM proxy_runs WHERE started < ? AND "
                        "COALESCE(stopped, last_seen) > ?", (end, start)).fetchall()
    data.uptime_seconds = _union_length([(max(a, start), min(b, end)) for a, b in runs])
    data.incidents_dropped = int(conn.execute(
        "SELECT COALESCE(SUM(count), 0) FROM dropped_incidents WHERE hour >= ? AND hour < ?",
        (start, end)).fetchone()[0])
    row = conn.execute("SELECT MAX(ts), SUM(checks), SUM(failures) FROM selftests WHERE ts > ? AND ts <= ?",
                       (end - 86_400, end)).fetchone()
    if row and row[0] is not None:
        data.selftest = (int(row[0]), int(row[1]), int(row[2]))
    return data


def connect(db: Path) -> sqlite3.Connection:
    migrate(db)
    conn = sqlite3.connect(db, timeout=10, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def enqueue_due(db: Path, settings: Settings, now: float, *, version: str, policy_version: str = "",
                baseline_version: str = "", lists: list[tuple[str, str, int, float]] | None = None) -> list[str]:
    """Queue the exports of every period that ended since the last one; returns their ids.

    The first time, only the last completed period is exported."""
    if not settings.department_url:
        return []
    hours, tz = settings.export_period_hours, settings.zone
    conn = connect(db)
    queued: list[str] = []
    try:
        last = _state(conn, "last_period_end")
        current = period_start(now, hours, tz)
        end = int(last) if last else period_start(current - 1, hours, tz)
        periods = []
        while True:
            nxt = next_period(end, hours, tz)
            if nxt > now - SETTLE_SECONDS:
                break
            periods.append((end, nxt))
            end = nxt
        if len(periods) > MAX_CATCH_UP:
            logger.warning("The export was stopped for %d periods; only the last %d are exported.",
                           len(periods), MAX_CATCH_UP)
            periods = periods[-MAX_CATCH_UP:]
        for start, stop in periods:
            data = collect(conn, settings, start, stop, int(now), version=version, policy_version=policy_version,
                           baseline_version=baseline_version, lists=lists)
            try:
                export = build_export(data, settings.export_min_cell)
            except ExportError as e:  # never sent; says why in the log and the status
                logger.error("The export of %s was not queued: %s", export_label(start, settings), e)
                _set_state(conn, "last_error", f"export not queued: {e}")
                continue
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("INSERT OR IGNORE INTO outbox (id, kind, created, body, next_attempt) "
                             "VALUES (?, ?, ?, ?, ?)", (export["id"], OutboxKind.DEPARTMENT_EXPORT.value, int(now),
                                                      encode(export).decode(), int(now)))
                _set_state(conn, "last_period_end", stop)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            queued.append(export["id"])
        if not last and not periods:
            _set_state(conn, "last_period_end", end)
    finally:
        conn.close()
    return queued


def export_label(start: int, settings: Settings) -> str:
    return datetime.fromtimestamp(start, settings.zone).strftime("%Y-%m-%d %H:%M")


# -- delivering the outbox ----------------------------------------------------------------------------

def http_sender(settings: Settings) -> Sender:
    ctx = ssl_context(settings.department_ca)

    def send(url: str, body: bytes, headers: dict[str, str]) -> Sent:
        req = urllib.request.Request(url, data=body, method="POST",
                                     headers={"User-Agent": USER_AGENT, "Content-Type": "application/json",
                                              **headers})
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT, context=ctx) as resp:  # noqa: S310 (https checked)
                return Sent(resp.status, resp.read(4096).decode("utf-8", "replace"))
        except urllib.error.HTTPError as e:
            text = e.read(4096).decode("utf-8", "replace")
            e.close()
            return Sent(e.code, text)
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            raise DeliveryError(f"cannot reach the department at {url}: {getattr(e, 'reason', e)}") from None

    return send


def backoff(failures: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter: a random wait up to base * 2^(failures-1), at most cap."""
    ceiling = min(cap, base * 2 ** max(0, failures - 1))
    return (rng or random).uniform(min(base, ceiling) / 2, ceiling)


def _message(sent: Sent) -> str:
    try:
        data = json.loads(sent.text)
        text = str(data.get("error") or data.get("message") or sent.text)
    except (ValueError, AttributeError):
        text = sent.text
    return f"HTTP {sent.status}: {text.strip()[:300]}"


@dataclass
class DeliveryResult:
    delivered: int = 0
    failed: int = 0
    unreachable: bool = False
    error: str = ""


def deliver_due(db: Path, settings: Settings, now: float, sender: Sender | None = None, *, limit: int = 200,
                force: bool = False) -> DeliveryResult:
    """Send what is due in the outbox, oldest first. `force` ignores the retry times."""
    result = DeliveryResult()
    if not settings.department_url:
        return result
    send = sender or http_sender(settings)
    private, _ = school_key(settings.data_path)
    base_url = settings.department_url.rstrip("/")
    conn = connect(db)
    try:
        retry_after = float(_state(conn, "retry_after") or 0)
        if not force and now < retry_after:
            return result
        rows = conn.execute(
            "SELECT id, kind, body, attempts FROM outbox WHERE delivered IS NULL AND (? OR next_attempt <= ?) "
            "ORDER BY created, id LIMIT ?", (1 if force else 0, int(now), limit)).fetchall()
        for rid, kind, body, attempts in rows:
            raw = body.encode()
            headers = {"X-Schoolgate-School": settings.school_id,
                       "X-Schoolgate-Signature": signing.sign(raw, private).strip(),
                       "X-Schoolgate-Id": rid}
            try:
                sent = send(base_url + PATHS.get(kind, "/api/v1/exports"), raw, headers)
            except DeliveryError as e:
                failures = int(_state(conn, "failures") or 0) + 1
                wait = backoff(failures, settings.export_retry_seconds, settings.export_retry_max_seconds)
                conn.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?", (str(e), rid))
                _set_state(conn, "failures", failures)
                _set_state(conn, "retry_after", now + wait)
                _set_state(conn, "last_error", str(e))
                result.unreachable, result.error = True, str(e)
                result.failed += 1
                break  # the department is down: everything waits for the next try
            if 200 <= sent.status < 300 or sent.status == 409:  # 409: it already has this id
                conn.execute("UPDATE outbox SET delivered = ?, attempts = attempts + 1, last_error = NULL "
                              "WHERE id = ?", (int(now), rid))
                result.delivered += 1
                _set_state(conn, "failures", 0)
                _set_state(conn, "retry_after", 0)
            else:
                message = _message(sent)
                wait = backoff(attempts + 1, settings.export_retry_seconds, settings.export_retry_max_seconds)
                conn.execute("UPDATE outbox SET attempts = attempts + 1, next_attempt = ?, last_error = ? "
                             "WHERE id = ?", (int(now + wait), message, rid))
                _set_state(conn, "last_error", f"{rid}: {message}")
                result.failed += 1
                result.error = message
        if result.delivered:
            _set_state(conn, "last_delivered", int(now))
            if not result.failed:
                _set_state(conn, "last_error", "")  # all went well: an old error would only mislead
    finally:
        conn.close()
    return result


def outbox_depth(db: Path) -> int:
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM outbox WHERE delivered IS NULL").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def status(db: Path, settings: Settings) -> dict[str, Any]:
    conn = connect(db)
    try:
        pending = conn.execute("SELECT kind, COUNT(*), MIN(created) FROM outbox WHERE delivered IS NULL "
                               "GROUP BY kind").fetchall()
        state = dict(conn.execute("SELECT name, value FROM export_state").fetchall())
        delivered = conn.execute("SELECT COUNT(*) FROM outbox WHERE delivered IS NOT NULL").fetchone()[0]
    finally:
        conn.close()
    _, public = school_key(settings.data_path)
    return {
        "department_url": settings.department_url,
        "school_id": settings.school_id,
        "public_key": public,
        "pending": {k: n for k, n, _ in pending},
        "oldest_pending": min((m for _, _, m in pending), default=None),
        "delivered": int(delivered),
        "last_delivered": int(float(state["last_delivered"])) if state.get("last_delivered") else None,
        "last_period_end": int(state["last_period_end"]) if state.get("last_period_end") else None,
        "retry_after": float(state.get("retry_after") or 0) or None,
        "failures": int(state.get("failures") or 0),
        "last_error": state.get("last_error") or "",
    }
