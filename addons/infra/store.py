"""The local SQLite store: WAL mode, named migrations, one writer task that
batches inserts, reads on separate connections.

The writer never slows request handling: `add_incident` and `count` only touch
memory. Incidents wait in a bounded queue; when it is full they are dropped and
counted (the `incidents_dropped` figure and the `dropped_incidents` table), while
the hourly traffic counts, which are bounded by groups x categories, are kept.
Critical incidents (matches on locked lists) and the outbox items that report
them are rare and never dropped: they wait in their own list and are written
first in every batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import astuple
from pathlib import Path

import aiosqlite

from ..core.outbox import OutboxItem
from ..core.privacy import INCIDENT_FIELDS, Incident, TrafficKey
from .tasks import cancel, spawn

logger = logging.getLogger(__name__)

DB_NAME = "schoolgate.db"

# Named migrations, applied in order, each in one transaction with its record.
# Never edit a released migration: add a new one.
MIGRATIONS: tuple[tuple[str, str], ...] = (
    ("0001_incidents", """
        CREATE TABLE incidents (
            id INTEGER PRIMARY KEY,
            ts INTEGER NOT NULL,
            kind TEXT NOT NULL,
            severity TEXT NOT NULL,
            group_id TEXT NOT NULL,
            grade INTEGER,
            level TEXT,
            reason TEXT NOT NULL,
            category TEXT,
            host TEXT,
            path TEXT,
            client_ref TEXT,
            client_addr TEXT,
            detail TEXT
        );
        CREATE INDEX incidents_ts ON incidents (ts);
        CREATE INDEX incidents_kind_ts ON incidents (kind, ts);
    """),
    ("0002_traffic_hourly", """
        CREATE TABLE traffic_hourly (
            hour INTEGER NOT NULL,
            group_id TEXT NOT NULL,
            level TEXT NOT NULL,
            category TEXT NOT NULL,
            action TEXT NOT NULL,
            reason TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (hour, group_id, category, action, reason)
        ) WITHOUT ROWID;
    """),
    ("0003_proxy_runs", """
        CREATE TABLE proxy_runs (
            id INTEGER PRIMARY KEY,
            started INTEGER NOT NULL,
            last_seen INTEGER NOT NULL,
            stopped INTEGER,
            version TEXT NOT NULL
        );
        CREATE TABLE dropped_incidents (
            hour INTEGER PRIMARY KEY,
            count INTEGER NOT NULL
        );
    """),
    ("0004_selftests", """
        CREATE TABLE selftests (
            id INTEGER PRIMARY KEY,
            ts INTEGER NOT NULL,
            group_id TEXT NOT NULL,
            checks INTEGER NOT NULL,
            failures INTEGER NOT NULL,
            detail TEXT NOT NULL
        );
    """),
    ("0005_overrides", """
        CREATE TABLE overrides (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            group_id TEXT NOT NULL,
            domains TEXT NOT NULL,
            starts INTEGER NOT NULL,
            ends INTEGER NOT NULL,
            created_by TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            removed INTEGER
        );
        CREATE INDEX overrides_ends ON overrides (ends);
    """),
    ("0006_dashboard", """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            role TEXT NOT NULL,
            groups TEXT NOT NULL DEFAULT '[]',
            safeguarding INTEGER NOT NULL DEFAULT 0,
            language TEXT NOT NULL DEFAULT 'vi',
            created INTEGER NOT NULL,
            disabled INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE sessions (
            token_hash TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            created INTEGER NOT NULL,
            expires INTEGER NOT NULL
        );
        CREATE TABLE review_requests (
            id INTEGER PRIMARY KEY,
            ts INTEGER NOT NULL,
            host TEXT NOT NULL,
            group_id TEXT NOT NULL,
            reason TEXT NOT NULL,
            category TEXT,
            child_note TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'pending',
            decided_by TEXT,
            decided_ts INTEGER,
            override_id INTEGER
        );
        CREATE TABLE reports (
            id INTEGER PRIMARY KEY,
            ts INTEGER NOT NULL,
            url TEXT NOT NULL,
            kind TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            group_id TEXT,
            status TEXT NOT NULL DEFAULT 'new',
            handled_by TEXT,
            handled_ts INTEGER
        );
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            ts INTEGER NOT NULL,
            user_name TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            before TEXT,
            after TEXT,
            reverted_by INTEGER
        );
    """),
    ("0007_outbox", """
        CREATE TABLE outbox (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            created INTEGER NOT NULL,
            body TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            delivered INTEGER
        );
        CREATE INDEX outbox_pending ON outbox (delivered, next_attempt);
    """),
    ("0008_export_state", """
        CREATE TABLE export_state (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
    """),
    # Staff sign-ins on the reserved host, shared by every proxy worker and kept over a
    # restart; a row lives until its expiry (signin_hours) or the sign-out.
    ("0009_signins", """
        CREATE TABLE signins (
            address TEXT PRIMARY KEY,
            group_id TEXT NOT NULL,
            expires INTEGER NOT NULL
        );
    """),
    ("0010_home", """
        CREATE TABLE home_config (
            id INTEGER PRIMARY KEY,
            ts INTEGER NOT NULL,
            body TEXT NOT NULL,
            author TEXT NOT NULL
        );
        CREATE TABLE home_controls (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            child TEXT NOT NULL,
            starts INTEGER NOT NULL,
            ends INTEGER NOT NULL,
            created_by TEXT NOT NULL,
            removed INTEGER
        );
        CREATE INDEX home_controls_ends ON home_controls (ends);
        CREATE TABLE home_usage (
            day TEXT NOT NULL,
            child TEXT NOT NULL,
            service TEXT NOT NULL,
            minute INTEGER NOT NULL,
            PRIMARY KEY (day, child, service, minute)
        ) WITHOUT ROWID;
        CREATE TABLE home_daily (
            day TEXT NOT NULL,
            child TEXT NOT NULL,
            service TEXT NOT NULL,
            minutes INTEGER NOT NULL,
            PRIMARY KEY (day, child, service)
        ) WITHOUT ROWID;
        CREATE TABLE home_blocks (
            day TEXT NOT NULL,
            child TEXT NOT NULL,
            reason TEXT NOT NULL,
            what TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (day, child, reason, what)
        ) WITHOUT ROWID;
        CREATE TABLE home_devices (
            address TEXT PRIMARY KEY,
            first_seen INTEGER NOT NULL,
            last_seen INTEGER NOT NULL
        );
    """),
    # Failed staff sign-ins (reserved host and proxy authentication) per device, shared by
    # every proxy worker so N workers do not allow N times the attempts; kept 15 minutes.
    ("0011_signin_failures", """
        CREATE TABLE signin_failures (
            address TEXT NOT NULL,
            at INTEGER NOT NULL
        );
        CREATE INDEX signin_failures_address ON signin_failures (address, at);
    """),
    # "Send anyway" on the personal-information warning, shared by every proxy worker:
    # a keyed hash of (device, site), never the address or the site; kept 10 minutes.
    ("0012_personal_info_bypass", """
        CREATE TABLE personal_info_bypass (
            key TEXT PRIMARY KEY,
            until INTEGER NOT NULL
        ) WITHOUT ROWID;
    """),
)


def db_path(data_dir: Path) -> Path:
    return data_dir / DB_NAME


def _configure(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a crash loses at most the last commit
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA foreign_keys=ON")


def migrate(path: Path) -> list[str]:
    """Apply pending migrations; returns the names applied. Safe to run from several processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    applied: list[str] = []
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        _configure(conn)
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied INTEGER NOT NULL)")
        for name, sql in MIGRATIONS:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if conn.execute("SELECT 1 FROM schema_migrations WHERE name = ?", (name,)).fetchone():
                    conn.execute("ROLLBACK")
                    continue
                for statement in (s.strip() for s in sql.split(";")):
                    if statement:
                        conn.execute(statement)
                conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (name, int(time.time())))
                conn.execute("COMMIT")
                applied.append(name)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
    finally:
        conn.close()
    return applied


@contextlib.contextmanager
def read_connection(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection (reports, CLI, dashboard queries)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        conn.execute("PRAGMA busy_timeout=5000")
        conn.row_factory = sqlite3.Row
        yield conn
    finally:
        conn.close()


_INSERT_INCIDENT = (
    f"INSERT INTO incidents ({', '.join(INCIDENT_FIELDS)}) VALUES ({', '.join('?' * len(INCIDENT_FIELDS))})"
)
_INSERT_OUTBOX = "INSERT OR IGNORE INTO outbox (id, kind, created, body, next_attempt) VALUES (?, ?, ?, ?, ?)"
_INSERT_USAGE = "INSERT OR IGNORE INTO home_usage (day, child, service, minute) VALUES (?, ?, ?, ?)"
_UPSERT_HOME_BLOCK = """
    INSERT INTO home_blocks (day, child, reason, what, count) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (day, child, reason, what) DO UPDATE SET count = count + excluded.count
"""
_UPSERT_DEVICE = """
    INSERT INTO home_devices (address, first_seen, last_seen) VALUES (?, ?, ?)
    ON CONFLICT (address) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)
"""
_UPSERT_TRAFFIC = """
    INSERT INTO traffic_hourly (hour, group_id, level, category, action, reason, count)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (hour, group_id, category, action, reason) DO UPDATE SET count = count + excluded.count
"""


class Writer:
    """The one writer of a store. Call `start` in the event loop, `close` at the end."""

    def __init__(self, path: Path, *, batch_seconds: float = 0.5, max_queue: int = 10_000,
                 max_batch: int = 2_000, version: str = ""):
        self.path = path
        self.batch_seconds = batch_seconds
        self.max_batch = max_batch
        self.version = version
        self._queue: asyncio.Queue[Incident] = asyncio.Queue(max_queue)
        self._counts: Counter[TrafficKey] = Counter()
        self._dropped_pending: Counter[int] = Counter()
        self._critical: list[Incident] = []
        self._outbox: list[OutboxItem] = []
        # Home gateway (core.home): minutes of use, blocks per child and category, devices seen.
        self._usage: set[tuple[str, str, str, int]] = set()
        self._home_blocks: Counter[tuple[str, str, str, str]] = Counter()
        self._devices: dict[str, int] = {}
        self._db: aiosqlite.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._run_id: int | None = None
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()  # one transaction at a time on the writer's connection
        self.dropped = 0  # incidents dropped since start (the queue was full)
        self.written = 0
        self.batches = 0

    # -- called from request hooks: memory only ---------------------------------------
    def add_incident(self, incident: Incident) -> bool:
        try:
            self._queue.put_nowait(incident)
        except asyncio.QueueFull:
            self.dropped += 1
            self._dropped_pending[incident.ts - incident.ts % 3600] += 1
            return False
        if self._queue.qsize() >= self.max_batch:
            self._wake.set()
        return True

    def add_critical(self, incident: Incident, report: OutboxItem | None = None) -> None:
        """A critical incident (and its report for the outbox): never dropped, written first."""
        self._critical.append(incident)
        if report is not None:
            self._outbox.append(report)
        self._wake.set()

    def count(self, key: TrafficKey, n: int = 1) -> None:
        self._counts[key] += n

    def note_dropped(self, hour: int, n: int) -> None:
        """Incidents another worker process had to drop (counted, never lost silently)."""
        self.dropped += n
        self._dropped_pending[hour] += n

    def add_usage(self, day: str, child: str, service: str, minute: int) -> None:
        """A minute in which a child used a service (idempotent: a minute is stored once,
        whichever process counted it)."""
        self._usage.add((day, child, service, minute))

    def count_home_block(self, day: str, child: str, reason: str, what: str) -> None:
        """A block for a child at home, by reason and category or service (no site, no time)."""
        self._home_blocks[(day, child, reason, what)] += 1

    def seen_device(self, address: str, ts: int) -> None:
        """A device address seen on the home network (for the parent's device list)."""
        self._devices[address] = max(ts, self._devices.get(address, 0))

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize() + len(self._critical)

    def _pending(self) -> bool:
        return bool(not self._queue.empty() or self._counts or self._dropped_pending or self._critical
                    or self._outbox or self._usage or self._home_blocks or self._devices)

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        await asyncio.to_thread(migrate, self.path)
        self._db = await aiosqlite.connect(self.path, isolation_level=None)
        await self._db.execute("PRAGMA journal_mode=WAL")
        await self._db.execute("PRAGMA synchronous=NORMAL")
        await self._db.execute("PRAGMA busy_timeout=5000")
        now = int(time.time())
        cur = await self._db.execute(
            "INSERT INTO proxy_runs (started, last_seen, version) VALUES (?, ?, ?)", (now, now, self.version))
        self._run_id = cur.lastrowid
        self._task = spawn(self._loop(), name="schoolgate incident writer")

    async def close(self) -> None:
        """Write everything still queued (SIGTERM path), then close."""
        await cancel(self._task)
        self._task = None
        if self._db is None:
            return
        while self._pending():
            await self._write_batch()
        await self._db.execute("UPDATE proxy_runs SET stopped = ?, last_seen = ? WHERE id = ?",
                               (int(time.time()), int(time.time()), self._run_id))
        await self._db.close()
        self._db = None

    async def flush(self) -> None:
        while self._pending():
            await self._write_batch()

    async def _loop(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self.batch_seconds)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self._write_batch()
            except sqlite3.Error:
                logger.exception("Could not write incidents; will retry in the next batch.")

    async def _write_batch(self) -> None:
        async with self._lock:
            await self._write_batch_locked()

    async def _write_batch_locked(self) -> None:
        assert self._db is not None
        batch: list[Incident] = []
        while len(batch) < self.max_batch:
            try:
                batch.append(self._queue.get_nowait())
            except asyncio.QueueEmpty:
                break
        counts, self._counts = self._counts, Counter()
        dropped, self._dropped_pending = self._dropped_pending, Counter()
        critical, self._critical = self._critical, []
        outbox, self._outbox = self._outbox, []
        usage, self._usage = self._usage, set()
        home_blocks, self._home_blocks = self._home_blocks, Counter()
        devices, self._devices = self._devices, {}
        db = self._db
        try:
            await db.execute("BEGIN IMMEDIATE")
            if critical:
                await db.executemany(_INSERT_INCIDENT, [astuple(i) for i in critical])
            if outbox:
                await db.executemany(_INSERT_OUTBOX, [(o.id, o.kind.value, o.created, o.body, o.created)
                                                      for o in outbox])
            if batch:
                await db.executemany(_INSERT_INCIDENT, [astuple(i) for i in batch])
            if counts:
                await db.executemany(_UPSERT_TRAFFIC, [
                    (k.hour, k.group_id, k.level, k.category, k.action, k.reason, n) for k, n in counts.items()])
            if dropped:
                await db.executemany(
                    "INSERT INTO dropped_incidents VALUES (?, ?) "
                    "ON CONFLICT (hour) DO UPDATE SET count = count + excluded.count", list(dropped.items()))
            if usage:
                await db.executemany(_INSERT_USAGE, sorted(usage))
            if home_blocks:
                await db.executemany(_UPSERT_HOME_BLOCK, [(*k, n) for k, n in home_blocks.items()])
            if devices:
                await db.executemany(_UPSERT_DEVICE, [(a, ts, ts) for a, ts in devices.items()])
            await db.execute("UPDATE proxy_runs SET last_seen = ? WHERE id = ?", (int(time.time()), self._run_id))
            await db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                await db.execute("ROLLBACK")
            self._usage |= usage
            self._home_blocks.update(home_blocks)
            for a, ts in devices.items():
                self.seen_device(a, ts)
            # Put the counts and the critical items back; the other incidents of a
            # failed batch are lost and counted.
            self._critical[:0] = critical
            self._outbox[:0] = outbox
            self._counts.update(counts)
            self._dropped_pending.update(dropped)
            for i in batch:
                self.dropped += 1
                self._dropped_pending[i.ts - i.ts % 3600] += 1
            raise
        self.written += len(batch) + len(critical)
        self.batches += 1

    async def retention(self, now: int, *, incident_days: int, alert_days: int, traffic_days: int,
                        address_days: int) -> dict[str, int]:
        """Delete what is older than the retention periods; returns rows removed per kind."""
        async with self._lock:
            return await self._retention(now, incident_days, alert_days, traffic_days, address_days)

    async def _retention(self, now: int, incident_days: int, alert_days: int, traffic_days: int,
                         address_days: int) -> dict[str, int]:
        assert self._db is not None
        day = 86_400
        db = self._db
        await db.execute("BEGIN IMMEDIATE")
        try:
            removed = {}
            cur = await db.execute("DELETE FROM incidents WHERE kind != 'alert' AND ts < ?", (now - incident_days * day,))
            removed["incidents"] = cur.rowcount
            cur = await db.execute("DELETE FROM incidents WHERE kind = 'alert' AND ts < ?", (now - alert_days * day,))
            removed["alerts"] = cur.rowcount
            cur = await db.execute("UPDATE incidents SET client_addr = NULL WHERE client_addr IS NOT NULL AND ts < ?",
                                   (now - address_days * day,))
            removed["addresses"] = cur.rowcount
            cur = await db.execute("DELETE FROM traffic_hourly WHERE hour < ?", (now - traffic_days * day,))
            removed["traffic_hours"] = cur.rowcount
            await db.execute("DELETE FROM dropped_incidents WHERE hour < ?", (now - traffic_days * day,))
            await db.execute("DELETE FROM proxy_runs WHERE last_seen < ?", (now - traffic_days * day,))
            await db.execute("DELETE FROM overrides WHERE ends < ?", (now - incident_days * day,))
            await db.execute("DELETE FROM review_requests WHERE ts < ?", (now - incident_days * day,))
            await db.execute("DELETE FROM reports WHERE ts < ? AND status != 'new'", (now - alert_days * day,))
            await db.execute("DELETE FROM sessions WHERE expires < ?", (now,))
            # Delivered outbox items are kept a while as a record of what left the school;
            # undelivered ones stay until they are delivered.
            cur = await db.execute("DELETE FROM outbox WHERE delivered IS NOT NULL AND delivered < ?",
                                   (now - incident_days * day,))
            removed["outbox_delivered"] = cur.rowcount
            await db.execute("COMMIT")
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        return removed


    async def home_maintenance(self, today: str, keep_from_day: str, devices_since: int) -> dict[str, int]:
        """Home gateway retention: minutes of past days become one count per day, child and
        service (the minute rows are deleted); days before `keep_from_day` and devices not
        seen since `devices_since` are deleted."""
        async with self._lock:
            assert self._db is not None
            db = self._db
            await db.execute("BEGIN IMMEDIATE")
            try:
                await db.execute(
                    "INSERT INTO home_daily (day, child, service, minutes) "
                    "SELECT day, child, service, count(*) FROM home_usage WHERE day < ? GROUP BY day, child, service "
                    "ON CONFLICT (day, child, service) DO UPDATE SET minutes = minutes + excluded.minutes", (today,))
                cur = await db.execute("DELETE FROM home_usage WHERE day < ?", (today,))
                removed = {"usage_minutes_compacted": cur.rowcount}
                cur = await db.execute("DELETE FROM home_daily WHERE day < ?", (keep_from_day,))
                removed["usage_days"] = cur.rowcount
                await db.execute("DELETE FROM home_blocks WHERE day < ?", (keep_from_day,))
                cur = await db.execute("DELETE FROM home_devices WHERE last_seen < ?", (devices_since,))
                removed["devices"] = cur.rowcount
                await db.execute("DELETE FROM home_controls WHERE ends < ?", (devices_since,))
                await db.execute("COMMIT")
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            return removed


@contextlib.asynccontextmanager
async def reader(path: Path) -> AsyncIterator[aiosqlite.Connection]:
    """An async read-only connection, separate from the writer's."""
    db = await aiosqlite.connect(f"file:{path}?mode=ro", uri=True)
    try:
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA busy_timeout=5000")
        yield db
    finally:
        await db.close()
