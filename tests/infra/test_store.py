import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from addons.core.outbox import OutboxItem, authority_report
from addons.core.privacy import Incident, IncidentKind, Severity, TrafficKey
from addons.infra.store import MIGRATIONS, Writer, migrate, read_connection, reader


def incident(ts: int = 1_700_000_000, kind: IncidentKind = IncidentKind.BLOCK) -> Incident:
    return Incident(ts, kind, Severity.INFO, "grade-7", 7, "lower-secondary", "category", "games",
                    "g.test", "/", "k:abc")


def test_migrations_are_named_and_idempotent(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    assert migrate(db) == [name for name, _ in MIGRATIONS]
    assert migrate(db) == []
    with read_connection(db) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY name")]
        assert names == sorted(n for n, _ in MIGRATIONS)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_failing_migration_leaves_no_trace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import addons.infra.store as store

    monkeypatch.setattr(store, "MIGRATIONS", MIGRATIONS + (("9999_broken", "CREATE TABLE x (a); SELECT * FROM nope"),))
    with pytest.raises(sqlite3.OperationalError):
        migrate(tmp_path / "s.db")
    with read_connection(tmp_path / "s.db") as conn:
        assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'x'").fetchone()
        assert not conn.execute("SELECT 1 FROM schema_migrations WHERE name = '9999_broken'").fetchone()


async def test_writer_batches_and_flushes_on_close(tmp_path: Path) -> None:
    w = Writer(tmp_path / "s.db", batch_seconds=30)  # no timed batch during the test
    await w.start()
    for i in range(250):
        assert w.add_incident(incident(1_700_000_000 + i))
    key = TrafficKey(1_699_999_200, "grade-7", "lower-secondary", "games", "allow", "default")
    for _ in range(1000):
        w.count(key)
    assert w.batches == 0  # nothing was committed per request
    await w.close()
    assert w.batches == 1 and w.written == 250
    with read_connection(tmp_path / "s.db") as conn:
        assert conn.execute("SELECT count(*) FROM incidents").fetchone()[0] == 250
        assert conn.execute("SELECT count FROM traffic_hourly").fetchone()[0] == 1000
        run = conn.execute("SELECT started, stopped FROM proxy_runs").fetchone()
        assert run["stopped"] is not None


async def test_timed_batches(tmp_path: Path) -> None:
    w = Writer(tmp_path / "s.db", batch_seconds=0.05)
    await w.start()
    w.add_incident(incident())
    for _ in range(100):
        if w.written:
            break
        await asyncio.sleep(0.02)
    assert w.written == 1
    async with reader(tmp_path / "s.db") as db:
        rows = await (await db.execute("SELECT host, client_ref FROM incidents")).fetchall()
    assert [tuple(r) for r in rows] == [("g.test", "k:abc")]
    await w.close()


async def test_full_queue_drops_to_counting(tmp_path: Path) -> None:
    w = Writer(tmp_path / "s.db", batch_seconds=30, max_queue=10)
    await w.start()
    results = [w.add_incident(incident()) for _ in range(15)]
    assert results.count(False) == 5 and w.dropped == 5 and w.queue_depth == 10
    await w.close()
    with read_connection(tmp_path / "s.db") as conn:
        assert conn.execute("SELECT count(*) FROM incidents").fetchone()[0] == 10
        assert conn.execute("SELECT sum(count) FROM dropped_incidents").fetchone()[0] == 5


async def test_retention(tmp_path: Path) -> None:
    day = 86400
    now = 1_800_000_000
    w = Writer(tmp_path / "s.db", batch_seconds=30)
    await w.start()
    old = Incident(now - 40 * day, IncidentKind.BLOCK, Severity.INFO, "g", None, None, "category",
                   client_addr="10.0.0.1")
    recent_addr = Incident(now - 10 * day, IncidentKind.BLOCK, Severity.INFO, "g", None, None, "category",
                           client_addr="10.0.0.2")
    old_alert = Incident(now - 40 * day, IncidentKind.ALERT, Severity.HIGH, "g", None, None, "phrase")
    for i in (old, recent_addr, old_alert):
        w.add_incident(i)
    w.count(TrafficKey(now - 500 * day, "g", "", "", "allow", "default"))
    w.count(TrafficKey(now - 3600, "g", "", "", "allow", "default"))
    await w.flush()
    removed = await w.retention(now, incident_days=30, alert_days=90, traffic_days=400, address_days=7)
    assert removed == {"incidents": 1, "alerts": 0, "addresses": 1, "traffic_hours": 1, "outbox_delivered": 0}
    await w.close()
    with read_connection(tmp_path / "s.db") as conn:
        rows = conn.execute("SELECT kind, client_addr FROM incidents ORDER BY ts").fetchall()
        assert [tuple(r) for r in rows] == [("alert", None), ("block", None)]
        assert conn.execute("SELECT count(*) FROM traffic_hourly").fetchone()[0] == 1


def critical(ts: int = 1_700_000_000) -> Incident:
    return Incident(ts, IncidentKind.ALERT, Severity.CRITICAL, "staff", None, None, "illegal", "csam", "img.bad.test",
                    None, "k:1", detail="sources/a/csam.hashes entry img-1")


def report(ts: int = 1_700_000_000, rid: str = "r-1") -> OutboxItem:
    return authority_report(school_id="s1", ts=ts, category="csam", list_id="sources/a/csam.hashes",
                            entry_id="img-1", match="pdq", host="img.bad.test", distance=4, report_id=rid)


async def test_critical_incidents_and_reports_are_never_dropped(tmp_path: Path) -> None:
    w = Writer(tmp_path / "s.db", batch_seconds=30, max_queue=3)
    await w.start()
    for _ in range(5):
        w.add_incident(incident())
    assert w.dropped == 2
    w.add_critical(critical(), report())
    w.add_critical(critical(), None)  # a repeat within the day: an incident, no second report
    await w.close()
    with read_connection(tmp_path / "s.db") as conn:
        assert conn.execute("SELECT count(*) FROM incidents WHERE severity = 'critical'").fetchone()[0] == 2
        row = conn.execute("SELECT * FROM outbox").fetchone()
        assert row["id"] == "r-1" and row["kind"] == "authority_report" and row["delivered"] is None
        assert row["attempts"] == 0 and row["next_attempt"] == 1_700_000_000
        assert json.loads(row["body"])["entry"] == "img-1"


async def test_a_failed_batch_keeps_critical_items(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w = Writer(tmp_path / "s.db", batch_seconds=30)
    await w.start()
    w.add_critical(critical(), report())
    w.add_incident(incident())
    real = w._db.executemany  # type: ignore[union-attr]
    calls = 0

    async def failing(sql: str, rows: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise sqlite3.OperationalError("disk I/O error")
        return await real(sql, rows)

    monkeypatch.setattr(w._db, "executemany", failing)
    with pytest.raises(sqlite3.OperationalError):
        await w.flush()
    assert w.dropped == 1 and w.queue_depth == 1  # the ordinary incident is lost and counted; not the critical one
    await w.close()
    with read_connection(tmp_path / "s.db") as conn:
        assert conn.execute("SELECT count(*) FROM incidents").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 1


async def test_retention_keeps_undelivered_reports(tmp_path: Path) -> None:
    day = 86400
    now = 1_800_000_000
    w = Writer(tmp_path / "s.db", batch_seconds=30)
    await w.start()
    w.add_critical(critical(now - 400 * day), report(now - 400 * day, "old-undelivered"))
    w.add_critical(critical(now - 40 * day), report(now - 40 * day, "old-delivered"))
    w.add_critical(critical(now - day), report(now - day, "recent-delivered"))
    await w.flush()
    await w._db.execute("UPDATE outbox SET delivered = created + 60 WHERE id LIKE '%-delivered'")  # type: ignore[union-attr]
    removed = await w.retention(now, incident_days=30, alert_days=90, traffic_days=400, address_days=7)
    assert removed["outbox_delivered"] == 1
    await w.close()
    with read_connection(tmp_path / "s.db") as conn:
        ids = sorted(r[0] for r in conn.execute("SELECT id FROM outbox"))
    assert ids == ["old-undelivered", "recent-delivered"]
