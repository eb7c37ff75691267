"""The department's storage: registered schools, the exports they sent, and
roll-ups that keep the department views fast at a thousand schools and a year.

SQLite by default (one file, enough for a province); PostgreSQL when the
setting `department_db` is a postgresql:// DSN. The SQL is written once for
both: `?` placeholders (translated for psycopg), `ON CONFLICT` upserts, BIGINT
times. Exports are stored once per (school, period): a re-sent export changes
nothing. Raw export bodies are not kept (only their figures); authority
reports are kept whole, as received.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

MIGRATIONS: tuple[tuple[str, str], ...] = (
    ("0001_department", """
        CREATE TABLE schools (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            province TEXT NOT NULL,
            district TEXT NOT NULL,
            levels TEXT NOT NULL,
            public_key TEXT NOT NULL,
            registered BIGINT NOT NULL,
            disabled BIGINT
        );
        CREATE TABLE exports (
            school_id TEXT NOT NULL,
            period_start BIGINT NOT NULL,
            period_end BIGINT NOT NULL,
            received BIGINT NOT NULL,
            version TEXT NOT NULL,
            baseline_version TEXT NOT NULL,
            suppressed_cells INTEGER NOT NULL,
            PRIMARY KEY (school_id, period_start)
        );
        CREATE TABLE counts_daily (
            school_id TEXT NOT NULL,
            day TEXT NOT NULL,
            level TEXT NOT NULL,
            category TEXT NOT NULL,
            action TEXT NOT NULL,
            n BIGINT NOT NULL,
            PRIMARY KEY (school_id, day, level, category, action)
        );
        CREATE TABLE counts_monthly (
            month TEXT NOT NULL,
            school_id TEXT NOT NULL,
            level TEXT NOT NULL,
            category TEXT NOT NULL,
            action TEXT NOT NULL,
            n BIGINT NOT NULL,
            PRIMARY KEY (month, school_id, level, category, action)
        );
        CREATE TABLE counts_province_daily (
            day TEXT NOT NULL,
            province TEXT NOT NULL,
            level TEXT NOT NULL,
            category TEXT NOT NULL,
            action TEXT NOT NULL,
            n BIGINT NOT NULL,
            PRIMARY KEY (day, province, level, category, action)
        );
        CREATE TABLE counts_province_monthly (
            month TEXT NOT NULL,
            province TEXT NOT NULL,
            level TEXT NOT NULL,
            category TEXT NOT NULL,
            action TEXT NOT NULL,
            n BIGINT NOT NULL,
            PRIMARY KEY (month, province, level, category, action)
        );
        CREATE TABLE counts_national_daily (
            day TEXT NOT NULL,
            level TEXT NOT NULL,
            category TEXT NOT NULL,
            action TEXT NOT NULL,
            n BIGINT NOT NULL,
            PRIMARY KEY (day, level, category, action)
        );
        CREATE TABLE school_months (
            school_id TEXT NOT NULL,
            month TEXT NOT NULL,
            exports BIGINT NOT NULL,
            period_seconds BIGINT NOT NULL,
            uptime_seconds BIGINT NOT NULL,
            dropped BIGINT NOT NULL,
            blocked BIGINT NOT NULL,
            PRIMARY KEY (school_id, month)
        );
        CREATE TABLE events_daily (
            school_id TEXT NOT NULL,
            day TEXT NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            n BIGINT NOT NULL,
            PRIMARY KEY (school_id, day, kind, name)
        );
        CREATE TABLE events_province_monthly (
            month TEXT NOT NULL,
            province TEXT NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            n BIGINT NOT NULL,
            PRIMARY KEY (month, province, kind, name)
        );
        CREATE TABLE school_status (
            school_id TEXT PRIMARY KEY,
            last_received BIGINT NOT NULL,
            last_period_end BIGINT NOT NULL,
            version TEXT NOT NULL,
            policy_version TEXT NOT NULL,
            baseline_version TEXT NOT NULL,
            selftest_ts BIGINT,
            selftest_failures BIGINT
        );
        CREATE TABLE school_lists (
            school_id TEXT NOT NULL,
            source TEXT NOT NULL,
            category TEXT NOT NULL,
            entries BIGINT NOT NULL,
            updated BIGINT NOT NULL,
            period_end BIGINT NOT NULL,
            PRIMARY KEY (school_id, source)
        );
        CREATE TABLE harmful_domains (
            domain TEXT NOT NULL,
            category TEXT NOT NULL,
            school_id TEXT NOT NULL,
            first_seen BIGINT NOT NULL,
            last_seen BIGINT NOT NULL,
            PRIMARY KEY (domain, category, school_id)
        );
        CREATE TABLE authority_reports (
            id TEXT PRIMARY KEY,
            school_id TEXT NOT NULL,
            received BIGINT NOT NULL,
            body TEXT NOT NULL
        );
        CREATE INDEX counts_daily_day ON counts_daily (day);
        CREATE INDEX schools_area ON schools (province, district)
    """),
)


class StoreError(Exception):
    pass


def _translate(sql: str) -> str:
    return sql.replace("?", "%s")


class Database:
    """One connection per thread to SQLite or PostgreSQL, with the same SQL."""

    def __init__(self, url: str):
        self.url = url
        self.postgres = url.startswith(("postgresql://", "postgres://"))
        self._local = threading.local()
        self._all: list[Any] = []  # every thread's connection, closed together
        self._lock = threading.Lock()
        if not self.postgres:
            Path(url).parent.mkdir(parents=True, exist_ok=True)

    def _connect(self) -> Any:
        if self.postgres:
            import psycopg

            return psycopg.connect(self.url, autocommit=True)
        conn = sqlite3.connect(self.url, isolation_level=None, timeout=30, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    @property
    def conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
            with self._lock:
                self._all.append(conn)
        return conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(_translate(sql) if self.postgres else sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if not rows:
            return
        if self.postgres:
            with self.conn.cursor() as cur:
                cur.executemany(_translate(sql), rows)
        else:
            self.conn.executemany(sql, rows)

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.execute(sql, params).fetchall()]

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row = self.execute(sql, params).fetchone()
        return tuple(row) if row is not None else None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if self.postgres:
            with self.conn.transaction():
                yield
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        """Close every thread's connection (at shutdown)."""
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()


@dataclass(frozen=True)
class School:
    id: str
    name: str
    province: str
    district: str
    levels: tuple[str, ...]
    public_key: str
    registered: int
    disabled: int | None = None


_UPSERT_ADD = ("INSERT INTO {t} ({cols}, n) VALUES ({marks}, ?) ON CONFLICT ({cols}) "
               "DO UPDATE SET n = {t}.n + excluded.n")


def _upsert_add(db: Database, table: str, cols: tuple[str, ...], rows: dict[tuple[Any, ...], int]) -> None:
    sql = _UPSERT_ADD.format(t=table, cols=", ".join(cols), marks=", ".join("?" * len(cols)))
    db.executemany(sql, [(*k, v) for k, v in rows.items()])


class DepartmentStore:
    def __init__(self, url: str, tz: ZoneInfo):
        self.db = Database(url)
        self.tz = tz

    # -- schema ---------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        db = self.db
        db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied BIGINT NOT NULL)")
        applied = []
        for name, sql in MIGRATIONS:
            if db.one("SELECT 1 FROM schema_migrations WHERE name = ?", (name,)):
                continue
            with db.transaction():
                for statement in (s.strip() for s in sql.split(";")):
                    if statement:
                        db.execute(statement)
                db.execute("INSERT INTO schema_migrations VALUES (?, ?)", (name, int(time.time())))
            applied.append(name)
        return applied

    # -- schools --------------------------------------------------------------------------------
    def register(self, school_id: str, name: str, province: str, district: str, levels: Sequence[str],
                 public_key: str, now: int | None = None) -> None:
        self.db.execute(
            "INSERT INTO schools (id, name, province, district, levels, public_key, registered) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
            "province = excluded.province, district = excluded.district, levels = excluded.levels, "
            "public_key = excluded.public_key, disabled = NULL",
            (school_id, name, province, district, ",".join(levels), public_key, int(now or time.time())))

    def disable(self, school_id: str, now: int | None = None) -> bool:
        cur = self.db.execute("UPDATE schools SET disabled = ? WHERE id = ?", (int(now or time.time()), school_id))
        return bool(cur.rowcount)

    def school(self, school_id: str) -> School | None:
        row = self.db.one("SELECT id, name, province, district, levels, public_key, registered, disabled "
                          "FROM schools WHERE id = ?", (school_id,))
        return _school(row) if row else None

    def schools(self, province: str = "", district: str = "") -> list[School]:
        where, args = _area(province, district, "")
        return [_school(r) for r in self.db.all(
            "SELECT id, name, province, district, levels, public_key, registered, disabled FROM schools s "
            f"WHERE {where} ORDER BY province, district, name", args)]

    # -- ingest ---------------------------------------------------------------------------------------
    def _day(self, ts: int) -> str:
        return datetime.fromtimestamp(ts, self.tz).date().isoformat()

    def ingest(self, school: School, export: dict[str, Any], received: int) -> bool:
        """Store one checked export; False if this school's period was stored before."""
        return self.ingest_many([(school, export)], received) == 1

    def ingest_many(self, items: Sequence[tuple[School, dict[str, Any]]], received: int) -> int:
        """Store many checked exports in one transaction (the roll-ups are summed in memory
        first); exports already stored are skipped. Returns how many were new."""
        db = self.db
        with db.transaction():
            spans: dict[str, tuple[int, int]] = {}  # school → (first, last) period start in this batch
            for s, e in items:
                start = int(e["period"]["start"])
                first, last = spans.get(s.id, (start, start))
                spans[s.id] = (min(first, start), max(last, start))
            seen: set[tuple[str, int]] = set()
            for school_id, (first, last) in spans.items():
                seen.update((school_id, int(p)) for (p,) in db.all(
                    "SELECT period_start FROM exports WHERE school_id = ? AND period_start >= ? AND period_start <= ?",
                    (school_id, first, last)))
            fresh = []
            for school, export in items:
                key = (school.id, export["period"]["start"])
                if key in seen:
                    continue
                seen.add(key)
                fresh.append((school, export))
            if not fresh:
                return 0
            self._write(fresh, received)
        return len(fresh)

    def _write(self, items: list[tuple[School, dict[str, Any]]], received: int) -> None:
        db = self.db
        daily: Counter[tuple[Any, ...]] = Counter()
        monthly: Counter[tuple[Any, ...]] = Counter()
        province: Counter[tuple[Any, ...]] = Counter()
        province_monthly: Counter[tuple[Any, ...]] = Counter()
        national: Counter[tuple[Any, ...]] = Counter()
        months: dict[tuple[str, str], list[int]] = {}
        events_monthly: Counter[tuple[Any, ...]] = Counter()
        events: dict[tuple[Any, ...], int] = {}
        status: dict[str, tuple[Any, ...]] = {}
        lists: dict[str, list[tuple[Any, ...]]] = {}  # school → the lists of its newest export here
        harmful: dict[tuple[str, str, str], tuple[int, int]] = {}
        exports = []
        for school, e in items:
            start, end = e["period"]["start"], e["period"]["end"]
            day = self._day(start)
            month = day[:7]
            exports.append((school.id, start, end, received, e.get("version", ""), e.get("baseline_version", ""),
                            int(e.get("suppressed_cells", 0))))
            blocked = 0
            for c in e["counts"]:
                n = int(c["count"])
                cell = (c["level"], c["category"], c["action"])
                daily[(school.id, day, *cell)] += n
                monthly[(month, school.id, *cell)] += n
                province[(day, school.province, *cell)] += n
                province_monthly[(month, school.province, *cell)] += n
                national[(day, *cell)] += n
                if c["action"] == "block":
                    blocked += n
            health = e.get("health") or {}
            m = months.setdefault((school.id, month), [0, 0, 0, 0, 0])
            m[0] += 1
            m[1] += int(health.get("period_seconds", end - start))
            m[2] += int(health.get("uptime_seconds", 0))
            m[3] += int(health.get("incidents_dropped", 0))
            m[4] += blocked
            d = e.get("daily")
            if d:
                for kind, label in (("alerts", "type"), ("reviews", "outcome"), ("reports", "outcome")):
                    for row in d.get(kind, []):  # a day's section comes once, in the export that ends it
                        events[(school.id, d["day"], kind, str(row[label]))] = int(row["count"])
                        events_monthly[(d["day"][:7], school.province, kind, str(row[label]))] += int(row["count"])
            previous = status.get(school.id)
            if previous is None or end >= previous[1]:
                st = (health.get("selftest") or {})
                status[school.id] = (received, end, e.get("version", ""), e.get("policy_version", ""),
                                     e.get("baseline_version", ""), st.get("ts"), st.get("failures"))
                lists[school.id] = [(school.id, row["source"], row["category"], int(row["entries"]),
                                     int(row["updated"]), end) for row in e.get("lists", [])]
            for row in e.get("harmful_domains") or []:
                key = (row["domain"], row["category"], school.id)
                first, last = harmful.get(key, (end, end))
                harmful[key] = (min(first, end), max(last, end))
        db.executemany("INSERT INTO exports (school_id, period_start, period_end, received, version, "
                       "baseline_version, suppressed_cells) VALUES (?, ?, ?, ?, ?, ?, ?)", exports)
        _upsert_add(db, "counts_daily", ("school_id", "day", "level", "category", "action"), daily)
        _upsert_add(db, "counts_monthly", ("month", "school_id", "level", "category", "action"), monthly)
        _upsert_add(db, "counts_province_daily", ("day", "province", "level", "category", "action"), province)
        _upsert_add(db, "counts_province_monthly", ("month", "province", "level", "category", "action"),
                    province_monthly)
        _upsert_add(db, "counts_national_daily", ("day", "level", "category", "action"), national)
        _upsert_add(db, "events_province_monthly", ("month", "province", "kind", "name"), events_monthly)
        db.executemany(
            "INSERT INTO school_months (school_id, month, exports, period_seconds, uptime_seconds, dropped, blocked) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (school_id, month) DO UPDATE SET "
            "exports = school_months.exports + excluded.exports, "
            "period_seconds = school_months.period_seconds + excluded.period_seconds, "
            "uptime_seconds = school_months.uptime_seconds + excluded.uptime_seconds, "
            "dropped = school_months.dropped + excluded.dropped, blocked = school_months.blocked + excluded.blocked",
            [(*k, *v) for k, v in months.items()])
        db.executemany("INSERT INTO events_daily (school_id, day, kind, name, n) VALUES (?, ?, ?, ?, ?) "
                       "ON CONFLICT (school_id, day, kind, name) DO UPDATE SET n = excluded.n",
                       [(*k, v) for k, v in events.items()])
        db.executemany(
            "INSERT INTO school_status (school_id, last_received, last_period_end, version, policy_version, "
            "baseline_version, selftest_ts, selftest_failures) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (school_id) DO UPDATE SET last_received = excluded.last_received, "
            "last_period_end = excluded.last_period_end, version = excluded.version, "
            "policy_version = excluded.policy_version, baseline_version = excluded.baseline_version, "
            "selftest_ts = excluded.selftest_ts, selftest_failures = excluded.selftest_failures "
            "WHERE school_status.last_period_end <= excluded.last_period_end",
            [(k, *v) for k, v in status.items()])
        db.executemany(
            "INSERT INTO school_lists (school_id, source, category, entries, updated, period_end) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (school_id, source) DO UPDATE SET category = excluded.category, "
            "entries = excluded.entries, updated = excluded.updated, period_end = excluded.period_end "
            "WHERE school_lists.period_end <= excluded.period_end", [r for rows in lists.values() for r in rows])
        # A source the school's newest export no longer lists was removed there: forget it.
        db.executemany("DELETE FROM school_lists WHERE school_id = ? AND period_end < (SELECT last_period_end "
                       "FROM school_status WHERE school_id = ?)", [(sid, sid) for sid in lists])
        db.executemany(
            "INSERT INTO harmful_domains (domain, category, school_id, first_seen, last_seen) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (domain, category, school_id) DO UPDATE SET "
            "first_seen = CASE WHEN excluded.first_seen < harmful_domains.first_seen "
            "THEN excluded.first_seen ELSE harmful_domains.first_seen END, "
            "last_seen = CASE WHEN excluded.last_seen > harmful_domains.last_seen "
            "THEN excluded.last_seen ELSE harmful_domains.last_seen END", [(*k, *v) for k, v in harmful.items()])

    def ingest_authority(self, school: School, report_id: str, body: str, received: int) -> bool:
        cur = self.db.execute("INSERT INTO authority_reports (id, school_id, received, body) VALUES (?, ?, ?, ?) "
                              "ON CONFLICT (id) DO NOTHING", (report_id, school.id, received, body))
        return bool(cur.rowcount)

    # -- what the views read -----------------------------------------------------------------------------
    def export_count(self, school_id: str | None = None) -> int:
        if school_id:
            row = self.db.one("SELECT COUNT(*) FROM exports WHERE school_id = ?", (school_id,))
        else:
            row = self.db.one("SELECT COUNT(*) FROM exports")
        return int(row[0]) if row else 0

    def export_periods(self, school_id: str) -> list[int]:
        return [int(r[0]) for r in self.db.all(
            "SELECT period_start FROM exports WHERE school_id = ? ORDER BY period_start", (school_id,))]

    def authority_reports(self, limit: int = 200) -> list[dict[str, Any]]:
        out = []
        for rid, school_id, received, body in self.db.all(
                "SELECT id, school_id, received, body FROM authority_reports ORDER BY received DESC, id LIMIT ?",
                (limit,)):
            data = json.loads(body)
            out.append({"id": rid, "school_id": school_id, "received": int(received), **{
                k: data.get(k) for k in ("time", "category", "list", "entry", "match", "distance", "host")}})
        return out

    def totals(self, start: date, end: date, *, province: str = "", district: str = "",
               level: str = "") -> dict[tuple[str, str], int]:
        """{(category, action): n} over [start, end] (days, inclusive)."""
        table, where, args = self._counts_source(start, end, province, district, level)
        return {(c, a): int(n) for c, a, n in self.db.all(
            f"SELECT category, action, SUM(n) FROM {table} WHERE {where} GROUP BY category, action", args)}

    def by_level(self, start: date, end: date, *, province: str = "", district: str = "",
                 level: str = "") -> dict[tuple[str, str], int]:
        table, where, args = self._counts_source(start, end, province, district, level)
        return {(lv, a): int(n) for lv, a, n in self.db.all(
            f"SELECT level, action, SUM(n) FROM {table} WHERE {where} GROUP BY level, action", args)}

    def trend(self, start: date, end: date, *, province: str = "", district: str = "", level: str = "",
              action: str = "block") -> list[tuple[str, int]]:
        table, where, args = self._counts_source(start, end, province, district, level)
        return [(str(d), int(n)) for d, n in self.db.all(
            f"SELECT day, SUM(n) FROM {table} WHERE {where} AND action = ? GROUP BY day ORDER BY day",
            (*args, action))]

    def by_province(self, start: date, end: date, level: str = "") -> dict[tuple[str, str], int]:
        out: Counter[tuple[str, str]] = Counter()
        extra, extra_args = (" AND level = ?", (level,)) if level else ("", ())
        for table, lo, hi in _spans(start, end):
            for p, a, n in self.db.all(f"SELECT province, action, SUM(n) FROM {table} WHERE {_SPAN[table]}{extra} "
                                       "GROUP BY province, action", (lo, hi, *extra_args)):
                out[(p, a)] += int(n)
        return dict(out)

    def _counts_source(self, start: date, end: date, province: str, district: str,
                       level: str) -> tuple[str, str, tuple[Any, ...]]:
        """The smallest roll-up that answers: national, by province, or by school for a district."""
        args: list[Any] = [start.isoformat(), end.isoformat()]
        if district:
            where = ("day >= ? AND day <= ? AND school_id IN (SELECT id FROM schools WHERE province = ? "
                     "AND district = ?)")
            args += [province, district]
            table = "counts_daily"
        elif province:
            table = "counts_province_daily"
            where = "day >= ? AND day <= ? AND province = ?"
            args.append(province)
        else:
            table, where = "counts_national_daily", "day >= ? AND day <= ?"
        if level:
            where += " AND level = ?"
            args.append(level)
        return table, where, tuple(args)

    def school_rows(self, start: date, end: date, now: int, *, province: str = "", district: str = "",
                    stale_hours: int = 26, stale_list_days: int = 7) -> list[dict[str, Any]]:
        """One row per school: where it is, its last export, version, baseline, list age, blocks."""
        where, args = _area(province, district, "s.")
        blocked = {sid: int(n) for sid, n in self.db.all(
            "SELECT school_id, SUM(blocked) FROM school_months WHERE month >= ? AND month <= ? GROUP BY school_id",
            (start.isoformat()[:7], end.isoformat()[:7]))}
        # A list source the school subscribes to (sources/...) that has not been updated, or, with no
        # subscription at all, lists that nobody updates: the newest of them is old.
        lists = {sid: (int(oldest_source if oldest_source is not None else newest), int(n))
                 for sid, oldest_source, newest, n in self.db.all(
                     "SELECT school_id, MIN(CASE WHEN SUBSTR(source, 1, 8) = 'sources/' THEN updated END), MAX(updated), "
                     "SUM(entries) FROM school_lists GROUP BY school_id")}
        out = []
        for row in self.db.all(
                "SELECT s.id, s.name, s.province, s.district, s.levels, s.disabled, st.last_received, "
                "st.last_period_end, st.version, st.baseline_version, st.selftest_failures FROM schools s "
                f"LEFT JOIN school_status st ON st.school_id = s.id WHERE {where} "
                "ORDER BY s.province, s.district, s.name", args):
            sid, name, prov, dist, levels, disabled, received, period_end, version, baseline, st_fail = row
            updated, entries = lists.get(sid, (None, 0))
            silent = period_end is None or int(period_end) < now - stale_hours * 3600
            stale = updated is None or updated < now - stale_list_days * 86_400
            out.append({"id": sid, "name": name, "province": prov, "district": dist,
                        "levels": [x for x in levels.split(",") if x], "disabled": disabled,
                        "last_received": received, "last_period_end": period_end, "version": version or "",
                        "baseline_version": baseline or "", "selftest_failures": st_fail,
                        "lists_updated": updated, "list_entries": entries, "blocked": blocked.get(sid, 0),
                        "not_reporting": bool(silent and not disabled), "stale_lists": bool(stale and not disabled)})
        return out

    def baselines(self) -> dict[str, int]:
        return {str(b or ""): int(n) for b, n in self.db.all(
            "SELECT baseline_version, COUNT(*) FROM school_status GROUP BY baseline_version")}

    def yearly(self, start: date, end: date, *, province: str = "", district: str = "") -> dict[str, Any]:
        """The figures of the yearly report: whole months from the province roll-ups, the days of
        partial months from the daily ones (a district reads its schools' rows)."""
        where, args = _area(province, district, "s.")
        m0, m1 = start.isoformat()[:7], end.isoformat()[:7]
        cells: Counter[tuple[str, str, str, str]] = Counter()
        events: Counter[tuple[str, str]] = Counter()
        if district:
            spans = [("counts_daily", start.isoformat(), end.isoformat())]
        else:
            spans = _spans(start, end)
        for table, lo, hi in spans:
            if table == "counts_daily":
                rows = self.db.all(
                    "SELECT s.province, c.level, c.category, c.action, SUM(c.n) FROM counts_daily c JOIN schools s "
                    "ON s.id = c.school_id WHERE c.day >= ? AND c.day <= ? AND " + where +
                    " GROUP BY s.province, c.level, c.category, c.action", (lo, hi, *args))
                ev = self.db.all(
                    "SELECT e.kind, e.name, SUM(e.n) FROM events_daily e JOIN schools s ON s.id = e.school_id "
                    "WHERE e.day >= ? AND e.day <= ? AND " + where + " GROUP BY e.kind, e.name", (lo, hi, *args))
            else:
                area, area_args = (" AND province = ?", (province,)) if province else ("", ())
                rows = self.db.all(
                    f"SELECT province, level, category, action, SUM(n) FROM {table} WHERE {_SPAN[table]}{area} "
                    "GROUP BY province, level, category, action", (lo, hi, *area_args))
                if table == "counts_province_monthly":
                    ev = self.db.all(
                        f"SELECT kind, name, SUM(n) FROM events_province_monthly WHERE month >= ? AND month <= ?"
                        f"{area} GROUP BY kind, name", (lo, hi, *area_args))
                else:
                    ev = self.db.all(
                        "SELECT e.kind, e.name, SUM(e.n) FROM events_daily e JOIN schools s ON s.id = e.school_id "
                        "WHERE e.day >= ? AND e.day <= ? AND " + where + " GROUP BY e.kind, e.name", (lo, hi, *args))
            for p, lv, c, a, n in rows:
                cells[(p, lv, c, a)] += int(n)
            for k, name, n in ev:
                events[(k, name)] += int(n)
        health = self.db.all(
            "SELECT s.id, SUM(m.exports), SUM(m.period_seconds), SUM(m.uptime_seconds) FROM school_months m "
            "JOIN schools s ON s.id = m.school_id WHERE m.month >= ? AND m.month <= ? AND " + where +
            " GROUP BY s.id", (m0, m1, *args))
        schools = self.db.one("SELECT COUNT(*) FROM schools s WHERE " + where, args)
        return {
            "cells": [(*k, n) for k, n in sorted(cells.items())],
            "events": [(*k, n) for k, n in sorted(events.items())],
            "schools": int(schools[0]) if schools else 0,
            "reporting": len(health),
            "uptime": {sid: (int(u) / int(p) if p else 0.0) for sid, _, p, u in health},
            "authority_reports": int((self.db.one(
                "SELECT COUNT(*) FROM authority_reports a JOIN schools s ON s.id = a.school_id WHERE "
                "a.received >= ? AND a.received < ? AND " + where,
                (int(datetime(start.year, start.month, start.day, tzinfo=self.tz).timestamp()),
                 int(datetime(end.year, end.month, end.day, tzinfo=self.tz).timestamp()) + 86_400, *args))
                or (0,))[0]),
        }

    def harmful_domains(self, min_schools: int) -> dict[str, list[str]]:
        """{category: [domain, ...]} of the domains at least `min_schools` schools reported."""
        out: dict[str, list[str]] = {}
        for domain, category in self.db.all(
                "SELECT domain, category FROM harmful_domains GROUP BY domain, category "
                "HAVING COUNT(DISTINCT school_id) >= ? ORDER BY category, domain", (min_schools,)):
            out.setdefault(category, []).append(domain)
        return out

    def provinces(self) -> list[tuple[str, str]]:
        return [(p, d) for p, d in self.db.all("SELECT DISTINCT province, district FROM schools "
                                                 "ORDER BY province, district")]


def _school(row: tuple[Any, ...]) -> School:
    sid, name, province, district, levels, key, registered, disabled = row
    return School(sid, name, province, district, tuple(x for x in levels.split(",") if x), key, int(registered),
                  None if disabled is None else int(disabled))


_SPAN = {"counts_province_monthly": "month >= ? AND month <= ?", "counts_province_daily": "day >= ? AND day <= ?"}


def _spans(start: date, end: date) -> list[tuple[str, str, str]]:
    """[start, end] as (table, low, high): the whole months from the monthly province roll-up,
    the days before and after them from the daily one."""
    first = start if start.day == 1 else (start.replace(day=1) + timedelta(days=32)).replace(day=1)
    last = end if (end + timedelta(days=1)).day == 1 else end.replace(day=1) - timedelta(days=1)
    if first > last:
        return [("counts_province_daily", start.isoformat(), end.isoformat())]
    out = [("counts_province_monthly", first.isoformat()[:7], last.isoformat()[:7])]
    if start < first:
        out.append(("counts_province_daily", start.isoformat(), (first - timedelta(days=1)).isoformat()))
    if end > last:
        out.append(("counts_province_daily", (last + timedelta(days=1)).isoformat(), end.isoformat()))
    return out


def _area(province: str, district: str, prefix: str) -> tuple[str, tuple[str, ...]]:
    where, args = ["1 = 1"], []
    if province:
        where.append(f"{prefix}province = ?")
        args.append(province)
    if district:
        where.append(f"{prefix}district = ?")
        args.append(district)
    return " AND ".join(where), tuple(args)
