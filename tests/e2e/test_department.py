"""50 schools export to a real department server over HTTPS, with the schools'
real export code and separate data directories. The server is stopped for a
day and restarted: afterwards every export arrived exactly once, and the
department's totals are exactly the schools' figures. Bad reports over real
HTTP are refused with a clear error and store nothing. SQLite and PostgreSQL.

Time is simulated on the school side (a day passes in seconds): the export code
takes `now` as an argument, and the department stores what it is sent."""

from __future__ import annotations

import itertools
import json
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from addons.core.export import encode
from addons.core.settings import Settings
from addons.infra import export, signing
from addons.infra.store import migrate
from dashboard.department.server import main as department_main
from dashboard.department.store import DepartmentStore
from tests.helpers.department import DepartmentServer

VN = ZoneInfo("Asia/Ho_Chi_Minh")
HOUR = 3600
SCHOOLS = 50
LEVELS = ("primary", "lower-secondary", "upper-secondary")
START = int(datetime(2026, 11, 20, 8, 2, tzinfo=VN).timestamp())  # the first export: 07:00-08:00
OUTAGE_HOURS = 26  # the department is down for more than a day
_databases = itertools.count()


@dataclass
class School:
    settings: Settings
    level: str

    @property
    def id(self) -> str:
        return self.settings.school_id


def make_school(base: Path, i: int, url: str, ca: Path, start: int = START) -> School:
    """A school with its own data directory and a day of hourly traffic from `start`."""
    s = Settings(data_dir=str(base / f"school-{i:02d}"), school_id=f"79-TH-{i:04d}", department_url=url,
                 department_ca=str(ca), export_retry_seconds=60, export_retry_max_seconds=1800)
    s.data_path.mkdir(parents=True)
    migrate(s.db_path)
    level = LEVELS[i % len(LEVELS)]
    first = start - start % HOUR - HOUR
    with sqlite3.connect(s.db_path) as conn:
        rows = []
        for h in range(first, start + (OUTAGE_HOURS + 2) * HOUR, HOUR):
            rows += [(h, "lop", level, "games", "block", "category", 7),
                     (h, "lop", level, "adult", "block", "category", 2),  # under the minimum: never leaves
                     (h, "lop", level, "", "allow", "default", 100)]
        conn.executemany("INSERT INTO traffic_hourly VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    return School(s, level)


def cycle(school: School, now: float) -> export.DeliveryResult:
    """What the Exporter addon does every 30 seconds."""
    export.enqueue_due(school.settings.db_path, school.settings, now, version="1.0.0")
    return export.deliver_due(school.settings.db_path, school.settings, now)


def drain(school: School, now: float) -> int:
    delivered = 0
    while True:
        r = export.deliver_due(school.settings.db_path, school.settings, now, limit=50)
        delivered += r.delivered
        assert not r.failed, r.error
        if not r.delivered:
            return delivered


def outbox(school: School) -> list[tuple[str, int | None]]:
    with sqlite3.connect(school.settings.db_path) as conn:
        return conn.execute("SELECT id, delivered FROM outbox ORDER BY id").fetchall()


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DepartmentServer]:
    store = request.getfixturevalue("postgres").create_database(f"dept_e2e_{next(_databases)}") \
        if request.param == "postgresql" else ""
    srv = DepartmentServer(tmp_path, store, department_max_body=100_000)
    with srv:
        yield srv


def post(srv: DepartmentServer, body: bytes, headers: dict[str, str],
         path: str = "/api/v1/exports") -> tuple[int, dict]:
    req = urllib.request.Request(srv.url + path, data=body, method="POST",
                                 headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=30, context=srv.ssl_context()) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_fifty_schools_through_an_outage(server: DepartmentServer, tmp_path: Path) -> None:
    schools = [make_school(tmp_path, i, server.url, server.cert) for i in range(SCHOOLS)]
    for sc in schools:
        _, public = export.school_key(sc.settings.data_path)
        assert department_main(["register", sc.id, "--name", f"Trường {sc.id}", "--province",
                                ("TP Hồ Chí Minh", "Hà Nội")[int(sc.id[-4:]) % 2], "--district", "Quận 1",
                                "--levels", sc.level, "--public-key", public, *server.args()]) == 0
    pool = ThreadPoolExecutor(8)

    # Before the outage: the last hour of each school arrives.
    results = list(pool.map(lambda sc: cycle(sc, START), schools))
    assert all(r.delivered == 1 and not r.failed for r in results), [r.error for r in results if r.failed][:3]

    # The department goes down for a day; the schools keep exporting into their outboxes.
    server.stop()
    now = START
    for _ in range(OUTAGE_HOURS // 2):
        now += 2 * HOUR
        results = list(pool.map(lambda sc: cycle(sc, now), schools))
        assert all(r.delivered == 0 for r in results)
    assert all(r.unreachable and "cannot reach the department" in r.error for r in results)
    assert all(len([d for _, d in outbox(sc) if d is None]) == OUTAGE_HOURS for sc in schools)
    st = export.status(schools[0].settings.db_path, schools[0].settings)
    assert st["failures"] >= 1 and st["pending"] == {"department_export": OUTAGE_HOURS}

    # Back up: after their backoff, every school delivers everything it kept.
    server.start()
    later = now + 1800 + 1
    delivered = sum(pool.map(lambda sc: drain(sc, later), schools))
    assert delivered == SCHOOLS * OUTAGE_HOURS
    assert all(d is not None for sc in schools for _, d in outbox(sc))

    # An answer lost on the way back: the school sends again; the department keeps one copy.
    with sqlite3.connect(schools[0].settings.db_path) as conn:
        conn.execute("UPDATE outbox SET delivered = NULL WHERE id IN (SELECT id FROM outbox LIMIT 3)")
    assert drain(schools[0], later) == 3  # answered 409: already received
    pool.shutdown()

    store = DepartmentStore(server.settings.get("department_db") or str(server.data / "department.db"), VN)
    try:
        periods = OUTAGE_HOURS + 1
        assert store.export_count() == SCHOOLS * periods
        for sc in schools:
            got = store.export_periods(sc.id)
            assert len(got) == periods and got == sorted(set(got))
            assert got == [START - START % HOUR - HOUR + h * HOUR for h in range(periods)]
        totals = store.totals(date(2026, 11, 19), date(2026, 11, 23))
        assert totals == {("games", "block"): 7 * SCHOOLS * periods,
                          ("uncategorised", "allow"): 100 * SCHOOLS * periods}
        rows = store.school_rows(date(2026, 11, 20), date(2026, 11, 21), later)
        assert len(rows) == SCHOOLS and not any(r["not_reporting"] for r in rows)
    finally:
        store.db.close()
    assert "Refused" not in server.log.read_text()


def test_bad_reports_are_refused_over_https(server: DepartmentServer, tmp_path: Path) -> None:
    school = make_school(tmp_path, 1, server.url, server.cert)
    private, public = export.school_key(school.settings.data_path)
    r = server.command("register", school.id, "--name", "TH Lê Lợi", "--province", "Hà Nội", "--district",
                       "Ba Đình", "--levels", "primary", "--public-key", public)
    assert r.returncode == 0, r.stderr
    assert cycle(school, START).delivered == 1
    [(rid, _)] = outbox(school)
    with sqlite3.connect(school.settings.db_path) as conn:
        [(body,)] = conn.execute("SELECT body FROM outbox").fetchall()
    good = body.encode()
    sig = signing.sign(good, private).strip()
    hdr = {"X-Schoolgate-School": school.id, "X-Schoolgate-Signature": sig}

    tampered = good.replace(b'"count":7', b'"count":70')
    assert tampered != good
    cases = [
        (tampered, hdr, 401, "signature check failed for school '79-TH-0001'"),
        (good, {**hdr, "X-Schoolgate-School": "01-TH-9999"}, 403, "unknown school '01-TH-9999'"),
        (good, hdr, 409, f"export {rid} was already received; nothing stored again"),
        (b"{not json", {**hdr, "X-Schoolgate-Signature": signing.sign(b"{not json", private).strip()}, 400,
         "the report is not valid JSON"),
        (b"x" * 150_000, {**hdr, "X-Schoolgate-Signature": signing.sign(b"x" * 150_000, private).strip()}, 413,
         "at most 100000 are accepted"),
    ]
    other = dict(json.loads(good))
    other["period"] = {"start": other["period"]["start"] + HOUR, "end": other["period"]["end"] + HOUR}
    other["id"] = f"{school.id}:{other['period']['start']}"
    other["counts"] = [{"level": "primary", "category": "games", "action": "block", "count": 2}]
    other["note"] = "http://10.0.0.5/secret"
    personal = encode(other)
    cases.append((personal, {**hdr, "X-Schoolgate-Signature": signing.sign(personal, private).strip()}, 400,
                  "the export was refused: the export carries an address, pseudonym, URL or path"))
    for body_, headers, status, message in cases:
        code, answer = post(server, body_, headers)
        assert (code, answer["ok"]) == (status, False), (status, answer)
        assert message in answer["error"], answer
    store = DepartmentStore(server.settings.get("department_db") or str(server.data / "department.db"), VN)
    try:
        assert store.export_count() == 1
        assert store.totals(date(2026, 11, 19), date(2026, 11, 21)) == {
            ("games", "block"): 7, ("uncategorised", "allow"): 100}
    finally:
        store.db.close()
    # A disabled school is refused too.
    assert server.command("disable", school.id).returncode == 0
    later = START + HOUR
    r = cycle(school, later)
    assert r.failed == 1 and f"school '{school.id}' is disabled at the department" in r.error
    assert export.outbox_depth(school.settings.db_path) == 1  # kept, and retried later
