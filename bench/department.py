"""Benchmark: the department server holding a year of hourly reports from 1,000 schools (issue #9).

Registers --schools schools (default 1,000) in the 63 provinces, each with its
own Ed25519 key, school levels and district, then ingests --days days (default
365, ending yesterday) of hourly exports per school: 8.76 million reports for
the default size. Exports have the shape `build_export` produces (the counts
of every template come from `build_export` itself, and a sample of the exports
is rebuilt through it and compared): school levels and staff x categories x
block/allow during school hours, a few cells in the evening, at night, at
weekends and in the holidays, the day's alerts, reviews and reports at local
midnight (Asia/Ho_Chi_Minh), list freshness and health in every export,
harmful domains from the schools that opted in. They are stored with
`DepartmentStore.ingest_many`, one day of every school per transaction
(signatures are the receiver's job: their cost per report is measured on a
sample), timing each SQL statement and the Python roll-ups around them.

Then the real department app (in-process, signed in as a department user)
renders the overview (default 30 days, and the whole year: all schools, one
province, one district), the schools page and the yearly report (HTML, CSV,
and HTML for the stored days, which do not start on the 1st of a month); each
page is requested --repeat times and the median is compared with the target
of 2 seconds, after checking that the year's totals on the overview are what
the schools sent. Finally the receiver's path, one report per transaction
(`ingest`), is timed on the full database.

Prints, per backend: ingest time and reports/s (and where the time went),
database size, render times with PASS/FAIL. PostgreSQL runs in a throw-away
server (tests/helpers/postgres.py: Debian's PostgreSQL 15, durability off).

A run stops ingesting after --max-ingest seconds per backend. With --workdir
the databases are kept and the same command resumes where the last run
stopped (refused if dashboard/department/store.py changed in between); for
PostgreSQL that needs a server that outlives the runs (--postgres-dsn).

    .venv/bin/python bench/department.py [--schools 1000] [--days 365] [--backend sqlite|postgresql|both]
        [--workdir DIR] [--postgres-dsn DSN] [--max-ingest 600] [--repeat 5] [--profile DAYS]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import hashlib
import json
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from addons.core.export import ExportInput, build_export, check_export, encode  # noqa: E402
from addons.core.settings import Settings  # noqa: E402
from addons.infra import accounts, signing  # noqa: E402
from dashboard.department.app import create_department_app  # noqa: E402
from dashboard.department.store import DepartmentStore, School  # noqa: E402

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MIN_CELL = 5  # the schools' export_min_cell (the default)
TARGET = 2.0  # seconds per page (issue #9)
PASSWORD = "benchmark password 2026"
VERSION = "0.1.0"

PROVINCES = [
    "Hà Nội", "TP Hồ Chí Minh", "Hải Phòng", "Đà Nẵng", "Cần Thơ", "An Giang", "Bà Rịa - Vũng Tàu",
    "Bắc Giang", "Bắc Kạn", "Bạc Liêu", "Bắc Ninh", "Bến Tre", "Bình Định", "Bình Dương",
    "Bình Phước", "Bình Thuận", "Cà Mau", "Cao Bằng", "Đắk Lắk", "Đắk Nông", "Điện Biên",
    "Đồng Nai", "Đồng Tháp", "Gia Lai", "Hà Giang", "Hà Nam", "Hà Tĩnh", "Hải Dương", "Hậu Giang",
    "Hòa Bình", "Hưng Yên", "Khánh Hòa", "Kiên Giang", "Kon Tum", "Lai Châu", "Lâm Đồng",
    "Lạng Sơn", "Lào Cai", "Long An", "Nam Định", "Nghệ An", "Ninh Bình", "Ninh Thuận", "Phú Thọ",
    "Phú Yên", "Quảng Bình", "Quảng Nam", "Quảng Ngãi", "Quảng Ninh", "Quảng Trị", "Sóc Trăng",
    "Sơn La", "Tây Ninh", "Thái Bình", "Thái Nguyên", "Thanh Hóa", "Thừa Thiên Huế", "Tiền Giang",
    "Trà Vinh", "Tuyên Quang", "Vĩnh Long", "Vĩnh Phúc", "Yên Bái",
]
assert len(PROVINCES) == 63
# School types: (id prefix, levels, share of schools).
KINDS = [("TH", ("primary",), 0.50), ("THCS", ("lower-secondary",), 0.32), ("THPT", ("upper-secondary",), 0.14),
         ("TH-THCS", ("primary", "lower-secondary"), 0.02), ("THCS-THPT", ("lower-secondary", "upper-secondary"), 0.02)]
# Blocks per hour of school time per 100 pupils: (category, low, high); cells under MIN_CELL are suppressed.
PUPIL_BLOCKS = [("games", 5, 60), ("social_networks", 5, 50), ("doh", 3, 25), ("chat", 1, 15), ("adult", 0, 6),
                ("violence", 0, 4), ("gambling", 0, 3), ("proxy", 0, 6), ("vpn", 0, 4), ("malware", 0, 5),
                ("phishing", 0, 3), ("warez", 0, 3), ("mixed_adult", 0, 4), ("hacking", 0, 2), ("dating", 0, 2),
                ("drugs", 0, 1)]
ALLOWED_BY_LEVEL = {"primary": (), "lower-secondary": ("chat",), "upper-secondary": ("chat", "social_networks")}
STAFF_ALLOW = ["uncategorised", "social_networks", "games", "chat"]
STAFF_BLOCKS = [("adult", 0, 8), ("gambling", 0, 6), ("malware", 0, 10), ("phishing", 0, 6), ("doh", 2, 20),
                ("proxy", 0, 4), ("warez", 0, 4)]
ALERT_TYPES = ["self_harm", "bullying", "grooming", "extremism", "adult"]
LISTS = ["adult", "chat", "cryptojacking", "csam", "dating", "doh", "drugs", "gambling", "games", "hacking", "illegal",
         "malware", "mixed_adult", "phishing", "proxy", "social_networks", "violence", "vpn", "warez"]
HARMFUL = [(f"site{i}.example.vn", c) for i, c in enumerate(["self_harm", "extremism", "adult", "gambling"] * 50)]


# -- the schools and their exports -------------------------------------------------------------------

@dataclass
class Sim:
    """One school: its registration, key, traffic templates and what it sends each day."""

    school: School
    private: str
    pupils: int
    baseline: str
    harmful: bool
    lists: int  # 0: every shipped list; 1: without the optional ones
    # kind -> [(traffic rows, counts as build_export makes them, suppressed cells)]
    templates: dict[str, list[tuple[list[tuple[str, str, str, int]], list[dict[str, Any]], int]]] = \
        field(default_factory=dict)


def make_schools(n: int, rng: random.Random) -> list[Sim]:
    weights = [12, 12] + [3] * 3 + [1] * 58  # the two cities hold more schools
    districts = {p: [f"{'Quận' if i < 3 and p in PROVINCES[:5] else 'Huyện'} {i + 1}"
                     for i in range(rng.randint(4, 14))] for p in PROVINCES}
    sims, numbers = [], defaultdict(int)
    for _ in range(n):
        province = rng.choices(PROVINCES, weights)[0] if len(sims) >= 63 else PROVINCES[len(sims) % 63]
        prefix, levels, _ = rng.choices(KINDS, [k[2] for k in KINDS])[0]
        code = PROVINCES.index(province) + 1
        numbers[(code, prefix)] += 1
        sid = f"{code:02d}-{prefix}-{numbers[(code, prefix)]:04d}"
        private, public = signing.generate()
        school = School(sid, f"Trường {prefix} số {numbers[(code, prefix)]} {province}", province,
                        rng.choice(districts[province]), levels, public, 0)
        sim = Sim(school, private, rng.randint(150, 2500), rng.choice(["2026-09"] * 8 + ["2026-03"] * 2),
                  rng.random() < 0.1, rng.randrange(2))
        sim.templates = {"school": [make_template(sim, "school", rng) for _ in range(8)],
                         "evening": [make_template(sim, "evening", rng) for _ in range(3)],
                         "night": [make_template(sim, "night", rng) for _ in range(3)]}
        sims.append(sim)
    return sims


def make_template(sim: Sim, kind: str, rng: random.Random) -> tuple[list[tuple[str, str, str, int]],
                                                                     list[dict[str, Any]], int]:
    """Traffic rows of one hour, and the counts `build_export` makes of them."""
    per100 = sim.pupils / 100
    rows: list[tuple[str, str, str, int]] = []
    if kind == "school":
        for level in sim.school.levels:
            share = per100 / len(sim.school.levels)
            rows.append((level, "", "allow", int(share * rng.randint(1500, 4000))))
            for cat in ALLOWED_BY_LEVEL[level]:
                rows.append((level, cat, "allow", int(share * rng.randint(50, 400))))
            for cat, lo, hi in PUPIL_BLOCKS:
                if cat not in ALLOWED_BY_LEVEL[level]:
                    rows.append((level, cat, "block", int(share * rng.uniform(lo, hi))))
        staff = max(1.0, per100 / 8)
        for cat in STAFF_ALLOW:
            rows.append(("", "" if cat == "uncategorised" else cat, "allow", int(staff * rng.randint(200, 3000))))
        for cat, lo, hi in STAFF_BLOCKS:
            rows.append(("", cat, "block", int(staff * rng.uniform(lo, hi))))
    elif kind == "evening":
        rows += [("", "", "allow", rng.randint(20, 600)), ("", "social_networks", "allow", rng.randint(0, 80)),
                 ("", "doh", "block", rng.randint(0, 12)), ("", "malware", "block", rng.randint(0, 6)),
                 ("", "phishing", "block", rng.randint(0, 6))]
    else:
        rows += [("", "", "allow", rng.randint(0, 80)), ("", "doh", "block", rng.randint(0, 8))]
    e = build_export(ExportInput(sim.school.id, 1_767_200_400, 1_767_204_000, 1_767_204_060, VERSION,
                                 traffic=rows), MIN_CELL)
    return rows, e["counts"], e["suppressed_cells"]


def hour_kind(day: date, hour: int) -> str:
    holiday = (date(day.year, 6, 1) <= day <= date(day.year, 8, 15)
               or date(2026, 2, 14) <= day <= date(2026, 2, 22))  # summer and Tết
    if day.weekday() < 5 and not holiday and 7 <= hour < 17:
        return "school"
    return "evening" if 6 <= hour < 22 else "night"


def _suppressed(rows: list[tuple[str, int]]) -> tuple[list[tuple[str, int]], int]:
    kept = [(k, n) for k, n in sorted(rows) if n >= MIN_CELL]
    return kept, sum(1 for _, n in rows if 0 < n < MIN_CELL)


@dataclass
class DayInput:
    """What one school adds to a day's exports: the day's figures (in the midnight export),
    its lists' freshness and its latest self-test."""

    alerts: list[tuple[str, int]]
    reviews: list[tuple[str, int]]
    reports: list[tuple[str, int]]
    harmful: list[tuple[str, str]] | None
    lists: list[tuple[str, str, int, float]]
    lists_json: list[dict[str, Any]]
    selftest: tuple[int, int, int]
    selftest_json: dict[str, int]


class Generator:
    """Exports of one day of every school, built directly (fast), as build_export would."""

    def __init__(self, sims: list[Sim], seed: int):
        self.sims = sims
        self.seed = seed
        self.rng = random.Random(seed)
        self.day_totals = {"block": 0, "allow": 0}
        self.day_cells = 0

    def _lists(self, day0: int, which: int) -> tuple[list[tuple[str, str, int, float]], list[dict[str, Any]]]:
        names = LISTS if which == 0 else [x for x in LISTS if x not in ("dating", "cryptojacking", "hacking")]
        rows = sorted((f"blocklists/{c}/domains", c, 1000 + 137 * i, day0 + 30) for i, c in enumerate(names))
        return rows, [{"source": s, "category": c, "entries": e, "updated": u} for s, c, e, u in rows]

    def day_inputs(self, day: date) -> list[DayInput]:
        rng = self.rng
        day0 = int(datetime(day.year, day.month, day.day, tzinfo=TZ).timestamp())
        lists = [self._lists(day0, 0), self._lists(day0, 1)]
        ok = (day0 + 300, 24, 0)
        ok_json = {"ts": ok[0], "checks": ok[1], "failures": ok[2]}
        out = []
        for sim in self.sims:
            size = sim.pupils / 500
            alerts = [(t, int(rng.expovariate(1 / (1.5 * size)))) for t in ALERT_TYPES]
            reviews = [("approved", rng.randrange(int(6 * size) + 1)), ("denied", rng.randrange(int(4 * size) + 1)),
                       ("pending", rng.randrange(3))]
            reports = [("open", rng.randrange(3)), ("closed", rng.randrange(int(5 * size) + 1))]
            harmful = rng.sample(HARMFUL, rng.randrange(4)) if sim.harmful else None
            if rng.random() < 0.01:
                st = (day0 + 300, 24, rng.randint(1, 3))
                st_json = {"ts": st[0], "checks": st[1], "failures": st[2]}
            else:
                st, st_json = ok, ok_json
            lrows, ljson = lists[sim.lists]
            out.append(DayInput(alerts, reviews, reports, harmful, lrows, ljson, st, st_json))
        return out

    def daily_json(self, day: date, d: DayInput) -> dict[str, Any]:
        daily: dict[str, Any] = {"day": day.isoformat()}
        dropped = 0
        for name, rows, label in (("alerts", d.alerts, "type"), ("reviews", d.reviews, "outcome"),
                                  ("reports", d.reports, "outcome")):
            kept, n = _suppressed(rows)
            daily[name] = [{label: k, "count": v} for k, v in kept]
            dropped += n
        daily["suppressed_cells"] = dropped
        return daily

    def export(self, sim: Sim, start: int, kind: str, variant: int, day: date, d: DayInput,
               closes_day: bool) -> dict[str, Any]:
        _, counts, suppressed = sim.templates[kind][variant]
        end = start + 3600
        e = {"schema": 1, "type": "school_export", "id": f"{sim.school.id}:{start}", "school_id": sim.school.id,
             "period": {"start": start, "end": end}, "generated": end + 60, "version": VERSION,
             "policy_version": "pv-2026-09", "baseline_version": sim.baseline, "counts": counts,
             "suppressed_cells": suppressed, "daily": self.daily_json(day, d) if closes_day else None,
             "lists": d.lists_json,
             "health": {"period_seconds": 3600, "uptime_seconds": 3600, "incidents_dropped": 0,
                        "selftest": d.selftest_json}}
        if closes_day and d.harmful is not None:
            e["harmful_domains"] = [{"domain": h, "category": c} for h, c in sorted(set(d.harmful))]
        return e

    def export_input(self, sim: Sim, start: int, kind: str, variant: int, day: date, d: DayInput,
                     closes_day: bool) -> ExportInput:
        """The same export as ExportInput, for build_export (the sample check)."""
        data = ExportInput(sim.school.id, start, start + 3600, start + 3660, VERSION, "pv-2026-09", sim.baseline,
                           traffic=list(sim.templates[kind][variant][0]), lists=list(d.lists),
                           uptime_seconds=3600, selftest=d.selftest)
        if closes_day:
            data.day, data.alerts, data.reviews, data.reports = day.isoformat(), d.alerts, d.reviews, d.reports
            data.harmful = d.harmful
        return data

    def day(self, day: date) -> Iterator[tuple[Sim, dict[str, Any], Callable[[], ExportInput]]]:
        """Every school's 24 exports of `day`, in the order they arrive (hour by hour); the same
        exports for the same seed and day (so that a stopped run can be resumed)."""
        rng = self.rng = random.Random(f"{self.seed}:{day.isoformat()}")
        day0 = int(datetime(day.year, day.month, day.day, tzinfo=TZ).timestamp())
        inputs = self.day_inputs(day)
        totals = self.day_totals = {"block": 0, "allow": 0}
        cells = 0
        for hour in range(24):
            kind = hour_kind(day, hour)
            start = day0 + hour * 3600
            last = hour == 23
            n = len(self.sims[0].templates[kind])
            for sim, d in zip(self.sims, inputs):
                variant = rng.randrange(n)
                e = self.export(sim, start, kind, variant, day, d, last)
                for c in e["counts"]:
                    totals[c["action"]] += c["count"]
                cells += len(e["counts"])
                yield sim, e, (lambda sim=sim, start=start, kind=kind, variant=variant, d=d, last=last:
                               self.export_input(sim, start, kind, variant, day, d, last))
        self.day_cells = cells


# -- timing helpers --------------------------------------------------------------------------------------

class Breakdown:
    """Time spent in each SQL statement inside ingest_many (wraps the store's Database), and in
    the rest of `_write` (its Python roll-ups)."""

    SELECT = "select already-stored periods (per school)"
    WRITES = ("insert ", "delete ", "update ")

    def __init__(self, store: DepartmentStore, times: dict[str, float], rows: dict[str, int]):
        self.sqlite = not store.db.postgres
        self.days = 0
        self.times: dict[str, float] = defaultdict(float, times)
        self.rows: dict[str, int] = defaultdict(int, rows)
        db = store.db
        executemany, query = db.executemany, db.all
        write = store._write

        def timed_executemany(sql: str, rows: Any) -> None:
            rows = list(rows)
            words = sql.split()
            key = f"{words[0].lower()} {words[2]}"  # INSERT INTO t / DELETE FROM t
            t = time.perf_counter()
            executemany(sql, rows)
            self.times[key] += time.perf_counter() - t
            self.rows[key] += len(rows)

        def timed_all(sql: str, params: Any = ()) -> Any:
            t = time.perf_counter()
            out = query(sql, params)
            self.times[self.SELECT] += time.perf_counter() - t
            self.rows[self.SELECT] += 1
            return out

        def timed_write(items: Any, received: int) -> None:
            t = time.perf_counter()
            write(items, received)
            self.write_end = time.perf_counter()
            self.times["_write total"] += self.write_end - t

        self.write_end = 0.0
        db.executemany = timed_executemany  # type: ignore[method-assign]
        db.all = timed_all  # type: ignore[method-assign]
        store._write = timed_write  # type: ignore[method-assign]

    def report(self, total: float) -> None:
        sql = sum(v for k, v in self.times.items() if k.startswith(self.WRITES))
        select = self.times.get(self.SELECT, 0.0)
        write_total = self.times.get("_write total", 0.0)
        parts = [("_write: Python roll-ups (loops over exports and cells)", write_total - sql, 0)]
        parts += sorted(((k, v, self.rows[k]) for k, v in self.times.items() if k.startswith(self.WRITES)),
                        key=lambda x: -x[1])
        parts.append(("ingest_many: duplicate check, SELECTs", select, self.rows[self.SELECT]))
        commit, commit_days = self.times.get("commit", 0.0), self.rows.get("commit", 0)
        parts.append(("ingest_many: COMMIT" + (" (with the WAL checkpoint)" if self.sqlite else ""), commit,
                      commit_days))
        parts.append(("ingest_many: the rest (its loops over the keys)", total - write_total - select - commit, 0))
        print(f"  {'where the ingest time went':<56}{'seconds':>9}{'share':>7}{'rows/calls':>13}")
        for name, v, rows in parts:
            print(f"  {name:<56}{v:>9.1f}{v / total:>7.0%}{rows:>13,}")
        if commit_days and commit_days != self.days:
            print(f"  (COMMIT was timed on {commit_days} of the {self.days} days only: {commit / commit_days:.2f} s "
                  f"per day; the rest holds it for the other days)")

    def committed(self) -> None:
        """Called right after ingest_many returned: the time since _write finished is the COMMIT."""
        self.times["commit"] += time.perf_counter() - self.write_end
        self.rows["commit"] += 1


def sqlite_size(path: str) -> int:
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


def pg_size(store: DepartmentStore) -> int:
    return int(store.db.one("SELECT pg_database_size(current_database())")[0])


def human(n: float) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.2f} GB"


# -- one backend ---------------------------------------------------------------------------------------------

STORE_VERSION = hashlib.sha256((ROOT / "dashboard/department/store.py").read_bytes()).hexdigest()[:12]


def tables(store: DepartmentStore) -> list[str]:
    if store.db.postgres:
        sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1"
    return [t for (t,) in store.db.all(sql) if t not in ("schema_migrations", "schools", "authority_reports")]


def load_state(path: Path, args: argparse.Namespace, first: date) -> dict[str, Any]:
    """What earlier runs with the same --workdir ingested (a year can be loaded in several runs)."""
    fresh = {"schools": args.schools, "seed": args.seed, "days": args.days, "first": first.isoformat(),
             "store": STORE_VERSION,
             "days_done": 0, "stored": 0, "ingest": 0.0, "generate": 0.0, "cells": 0,
             "totals": {"block": 0, "allow": 0}, "times": {}, "rows": {}, "per_day": []}
    if not path.exists():
        return fresh
    state = json.loads(path.read_text())
    if (state["schools"], state["seed"], state["days"]) != (args.schools, args.seed, args.days):
        raise SystemExit(f"{path} holds a run with other --schools/--seed/--days: use another --workdir")
    if state.get("store") != STORE_VERSION:
        raise SystemExit(f"{path} was loaded by another version of dashboard/department/store.py "
                         f"({state.get('store')}, now {STORE_VERSION}): use another --workdir")
    print(f"resuming: {state['days_done']} of {state['days']} days were ingested by earlier runs "
          f"({state['ingest']:.0f} s)")
    return state


def run_backend(name: str, url: str, args: argparse.Namespace, sims: list[Sim], first: date, work: Path,
                size: Callable[[DepartmentStore], int]) -> dict[str, Any]:
    print(f"\n=== {name} ===", flush=True)
    state_path = work / f"state-{name}.json"
    state = load_state(state_path, args, first)
    first = date.fromisoformat(state["first"])
    store = DepartmentStore(url, TZ)
    store.migrate()
    for sim in sims:
        s = sim.school
        store.register(s.id, s.name, s.province, s.district, s.levels, s.public_key, now=int(time.time()))
    for sim in sims:  # the school as the store has it, as the receiver passes it
        school = store.school(sim.school.id)
        assert school is not None
        sim.school = school
    breakdown = Breakdown(store, state["times"], state["rows"])
    gen = Generator(sims, args.seed)
    profiler = cProfile.Profile() if args.profile else None
    samples: list[tuple[dict[str, Any], Callable[[], ExportInput]]] = []
    sample_rng = random.Random(args.seed + 1)
    t_run = t_report = time.perf_counter()
    run_ingest = 0.0
    for i in range(state["days_done"], args.days):
        day = first + timedelta(days=i)
        t = time.perf_counter()
        items = []
        for sim, e, slow in gen.day(day):
            items.append((sim.school, e))
            if sample_rng.random() < 100 / (24 * len(sims) * args.days) or (len(samples) < 20 and e["daily"]):
                samples.append((e, slow))
        state["generate"] += time.perf_counter() - t
        received = int(datetime(day.year, day.month, day.day, tzinfo=TZ).timestamp()) + 86_400 + 120
        t = time.perf_counter()
        if profiler is not None and i < state["days_done"] + args.profile:
            with profiler:  # type: ignore[attr-defined]
                stored = store.ingest_many(items, received)
        else:
            stored = store.ingest_many(items, received)
        took = time.perf_counter() - t
        if stored:
            breakdown.committed()
        if stored not in (0, len(items)):
            raise SystemExit(f"day {day}: {stored} of {len(items)} exports stored")
        run_ingest += took
        if stored:
            state["ingest"] += took
            state["stored"] += stored
            state["cells"] += gen.day_cells
            for k, v in gen.day_totals.items():
                state["totals"][k] += v
            state["per_day"].append(round(took, 3))
        state["days_done"] = i + 1
        state["times"], state["rows"] = dict(breakdown.times), dict(breakdown.rows)
        state_path.write_text(json.dumps(state))
        if time.perf_counter() - t_report > 60 or i == args.days - 1:
            t_report = time.perf_counter()
            print(f"  day {i + 1:>3}/{args.days}: {state['stored']:>10,} reports stored, ingest "
                  f"{state['ingest']:7.1f} s ({state['stored'] / state['ingest']:,.0f} reports/s), this day "
                  f"{took:.2f} s", flush=True)
        if run_ingest > args.max_ingest and i < args.days - 1:
            print(f"  STOPPED after {time.perf_counter() - t_run:.0f} s (--max-ingest {args.max_ingest:.0f} s of "
                  f"ingest in this run): {i + 1} of {args.days} days stored; the whole run would take about "
                  f"{state['ingest'] / (i + 1) * args.days / 60:.0f} min of ingest")
            break
    complete = state["days_done"] == args.days
    stored, ingest, days_done = state["stored"], state["ingest"], state["days_done"]
    print(f"generated {stored:,} exports in {state['generate']:.1f} s (not counted), "
          f"{state['cells'] / max(stored, 1):.1f} cells per export on average")
    for e, slow in samples:  # the fast exports are the ones build_export makes
        if build_export(slow(), MIN_CELL) != e:
            raise SystemExit(f"generated export differs from build_export's: {e['id']}")
    print(f"checked {len(samples)} sampled exports against build_export: identical")
    per_day = state["per_day"]
    print(f"ingest: {stored:,} reports in {ingest:.1f} s = {stored / ingest:,.0f} reports/s "
          f"({ingest / max(days_done, 1):.2f} s per day of {len(sims):,} schools; first 30 days "
          f"{statistics.mean(per_day[:30]):.2f} s per day, last 30 {statistics.mean(per_day[-30:]):.2f} s)")
    breakdown.days = days_done
    breakdown.report(ingest)
    if profiler is not None:
        print(f"profile of ingest_many, {args.profile} day(s):")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(14)
    counts = {t: int(store.db.one(f"SELECT COUNT(*) FROM {t}")[0]) for t in tables(store)}  # noqa: S608
    db_size = size(store)
    print(f"database: {human(db_size)}; rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()), flush=True)
    store.db.close()
    result: dict[str, Any] = {"stored": stored, "ingest": ingest, "days": days_done, "size": db_size,
                              "rows": counts, "complete": complete}
    if not complete and args.workdir:
        print("not rendering until every day is stored: run the same command again to resume")
        return result
    last = first + timedelta(days=days_done - 1)
    if not complete:
        print(f"PARTIAL: rendering with {days_done} of {args.days} days")
    result["renders"] = render_pages(url, args, sims, first, last, work / f"dept-{name}", state["totals"])
    if store.db.postgres and not args.no_analyze:
        store = DepartmentStore(url, TZ)
        t = time.perf_counter()
        store.db.execute("VACUUM (ANALYZE)")
        print(f"VACUUM (ANALYZE), as autovacuum does on a running server: {time.perf_counter() - t:.1f} s")
        store.db.close()
        result["renders_analyzed"] = render_pages(url, args, sims, first, last, work / f"dept-{name}",
                                                  state["totals"])
    if complete:
        result["single"] = single_ingest(url, sims, last + timedelta(days=1), args)
    return result


def render_pages(url: str, args: argparse.Namespace, sims: list[Sim], first: date, last: date, data_dir: Path,
                 totals: dict[str, int]) -> dict[str, list[float]]:
    """The department's pages through the real app, signed in as a department user."""
    import warnings

    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient` is deprecated")
    from starlette.testclient import TestClient

    settings = Settings(data_dir=str(data_dir), department_db=url, blocklists_dir=str(ROOT / "blocklists"))
    settings.data_path.mkdir(parents=True, exist_ok=True)
    store = DepartmentStore(settings.department_store, settings.zone)
    app = create_department_app(settings, store)
    with contextlib.suppress(accounts.AccountError):
        accounts.add_user(settings.db_path, "so-gd", PASSWORD, "department")
    client = TestClient(app, base_url="https://dept.test", follow_redirects=False)
    client.headers.update({"Sec-Fetch-Site": "same-origin"})
    r = client.post("/login", data={"name": "so-gd", "password": PASSWORD})
    assert r.status_code == 303, r.text
    year = {"from": first.isoformat(), "to": last.isoformat()}
    big = max(PROVINCES, key=lambda p: sum(s.school.province == p for s in sims))
    district = max(sorted({s.school.district for s in sims if s.school.province == big}),
                   key=lambda d: sum(s.school.district == d and s.school.province == big for s in sims))
    pages = [
        ("overview, last 30 days (default)", "/"),
        ("overview, whole year", "/?" + urlencode(year)),
        ("overview, one province, year", "/?" + urlencode({"province": big, **year})),
        ("overview, one district, year", "/?" + urlencode({"province": big, "district": district, **year})),
        ("schools page", "/schools"),
        ("yearly report, HTML", "/yearly"),
        ("yearly report, CSV", "/yearly?format=csv"),
        ("yearly report, HTML, the stored days", "/yearly?" + urlencode(year)),
    ]
    # The figures are right: the whole year's totals are what the schools sent.
    summary = client.get("/?format=json&" + urlencode(year)).json()["summary"]
    if (summary["blocked"], summary["allowed"], summary["schools"]) != (totals["block"], totals["allow"], len(sims)):
        raise SystemExit(f"overview totals {summary} differ from the ingested {totals}")
    out: dict[str, list[float]] = {}
    print(f"  {'page':<42}{'median':>8}{'max':>8}{'KB':>8}  target {TARGET:.0f} s")
    for label, path in pages:
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            r = client.get(path)
            times.append(time.perf_counter() - t)
            if r.status_code != 200:
                raise SystemExit(f"{path}: HTTP {r.status_code}: {r.text[:300]}")
        if path.startswith("/yearly?format=csv"):
            assert f"schools,registered,{len(sims)}" in r.text, r.text[-300:]
        out[label] = times
        med = statistics.median(times)
        print(f"  {label:<42}{med:>8.3f}{max(times):>8.3f}{len(r.content) / 1024:>8.0f}  "
              f"{'PASS' if med < TARGET else 'FAIL'}", flush=True)
    store.db.close()
    return out


def single_ingest(url: str, sims: list[Sim], day: date, args: argparse.Namespace) -> float:
    """The receiver's path on the full database: one report per transaction (`ingest`)."""
    store = DepartmentStore(url, TZ)
    newest = store.db.one("SELECT MAX(period_start) FROM exports")[0]  # a day not stored yet (runs resume)
    day = max(day, datetime.fromtimestamp(int(newest), TZ).date() + timedelta(days=1))
    gen = Generator(sims, args.seed + 2)
    items = [(sim.school, e) for sim, e, _ in gen.day(day)][: min(2000, 2 * len(sims))]
    t = time.perf_counter()
    for school, e in items:
        assert store.ingest(school, e, int(time.time()))
    per = (time.perf_counter() - t) / len(items)
    print(f"receiver path (ingest: one report per transaction) on the full database: {per * 1000:.2f} ms per "
          f"report over {len(items):,} reports")
    store.db.close()
    return per


def verify_cost(sims: list[Sim], first: date) -> None:
    """What the receiver does per report before storing it: signature, JSON, content check."""
    gen = Generator(sims[:50], 99)
    bodies = []
    for sim, e, _ in gen.day(first):
        body = encode(e)
        bodies.append((body, signing.sign(body, sim.private), sim.school.public_key))
    t0 = time.perf_counter()
    for body, sig, key in bodies:
        signing.verify(body, sig, key)
    t1 = time.perf_counter()
    for body, _, _ in bodies:
        check_export(json.loads(body))
    t2 = time.perf_counter()
    n = len(bodies)
    print(f"receiver checks per report ({n:,} reports of {statistics.mean(len(b) for b, _, _ in bodies) / 1024:.1f} "
          f"KB on average): Ed25519 verify {(t1 - t0) / n * 1e6:.0f} µs, JSON + check_export "
          f"{(t2 - t1) / n * 1e6:.0f} µs")


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    from tests.helpers.postgres import PostgresServer, postgres_available

    reason = postgres_available()
    if reason:
        raise SystemExit(reason)
    with PostgresServer() as pg:
        yield pg.create_database("department")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--schools", type=int, default=1000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--repeat", type=int, default=5, help="requests per page (the median is reported)")
    ap.add_argument("--max-ingest", type=float, default=600.0,
                    help="seconds of ingest per backend and run before stopping (keeps a run bounded)")
    ap.add_argument("--workdir", default="",
                    help="keep the databases here; a run stopped by --max-ingest resumes where it stopped")
    ap.add_argument("--postgres-dsn", default="",
                    help="use this (empty) PostgreSQL database instead of a throw-away server (to resume)")
    ap.add_argument("--profile", type=int, default=0, metavar="DAYS",
                    help="cProfile ingest_many over the first DAYS days of this run and print the top functions")
    ap.add_argument("--no-analyze", action="store_true", help="PostgreSQL: skip VACUUM ANALYZE and the re-render")
    ap.add_argument("--seed", type=int, default=9)
    args = ap.parse_args()

    first = datetime.now(TZ).date() - timedelta(days=args.days)
    t = time.perf_counter()
    sims = make_schools(args.schools, random.Random(args.seed))
    print(f"{args.schools:,} schools in {len({s.school.province for s in sims})} provinces, "
          f"{len({(s.school.province, s.school.district) for s in sims})} districts; {args.days} days of hourly "
          f"exports from {first} = {args.schools * args.days * 24:,} reports (setup {time.perf_counter() - t:.1f} s); "
          f"store.py {STORE_VERSION}")
    verify_cost(sims, first)
    results = {}
    with contextlib.ExitStack() as stack:
        if args.workdir:
            work = Path(args.workdir).resolve()
            work.mkdir(parents=True, exist_ok=True)
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-dept-")))
        if args.backend in ("sqlite", "both"):
            path = str(work / "department.db")
            results["sqlite"] = run_backend("sqlite", path, args, sims, first, work, lambda s: sqlite_size(path))
        if args.backend in ("postgresql", "both"):
            url = args.postgres_dsn or stack.enter_context(throwaway_postgres())
            results["postgresql"] = run_backend("postgresql", url, args, sims, first, work, pg_size)
    now = hashlib.sha256((ROOT / "dashboard/department/store.py").read_bytes()).hexdigest()[:12]
    if now != STORE_VERSION:
        print(f"WARNING: dashboard/department/store.py changed during the run ({STORE_VERSION} -> {now})")
    print("\n=== summary ===")
    for name, r in results.items():
        print(f"{name}: {r['stored']:,} reports ({r['days']} days) ingested in {r['ingest']:.0f} s "
              f"({r['ingest'] / 60:.1f} min) = {r['stored'] / r['ingest']:,.0f} reports/s; database {human(r['size'])}")
        for key in ("renders", "renders_analyzed"):
            if key in r:
                worst = max(statistics.median(v) for v in r[key].values())
                label = " after VACUUM ANALYZE" if key == "renders_analyzed" else ""
                print(f"  slowest page{label}: {worst:.3f} s (median): {'PASS' if worst < TARGET else 'FAIL'} "
                      f"(target {TARGET:.0f} s)")


if __name__ == "__main__":
    main()
