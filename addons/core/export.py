"""The department export: what a school sends to the education department, built
from aggregate rows with no I/O here.

Only aggregates leave the school: counts per level x category x action, alert
counts by type, review and report counts by outcome, list freshness and proxy
health. Cells under a minimum count are dropped (and only their number is
said), so no child can be singled out. Never an address, a pseudonym, a URL, a
path or a group name. `check_export` is the test every export passes before it
is queued, and what the department's receiver checks again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

SCHEMA = 1
EXPORT_TYPE = "school_export"
PERIOD_HOURS = (1, 2, 3, 4, 6, 8, 12, 24)  # periods that divide a day
LEVELS = ("preschool", "primary", "lower-secondary", "upper-secondary", "other")
ACTIONS = ("allow", "block")
MAX_LIST_ROWS = 200
MAX_DOMAINS = 500
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z0-9-]{2,63}$")
_FORBIDDEN_KEYS = {"client", "client_ref", "client_addr", "address", "ip", "pseudonym", "url", "path", "group",
                   "group_id", "user", "child"}


class ExportError(ValueError):
    """An export that must not leave the school (or that a receiver must refuse)."""


def valid_school_id(school_id: str) -> bool:
    return bool(_ID.match(school_id))


def report_id(school_id: str, period_start: int) -> str:
    """The id of a period's export: the same period always has the same id, so a
    re-sent export is recognised and stored once."""
    return f"{school_id}:{period_start}"


def period_start(ts: float, hours: int, tz: tzinfo) -> int:
    """The start of the period holding `ts`: periods of `hours` from local midnight."""
    local = datetime.fromtimestamp(ts, tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    block = (local.hour // hours) * hours
    return int((midnight + timedelta(hours=block)).timestamp())


def next_period(start: int, hours: int, tz: tzinfo) -> int:
    """The start of the period after the one starting at `start` (local time: a day is 24 hours)."""
    local = datetime.fromtimestamp(start, tz)
    return period_start((local + timedelta(hours=hours, minutes=30)).timestamp(), hours, tz)


def ends_a_day(end: int, tz: tzinfo) -> bool:
    local = datetime.fromtimestamp(end, tz)
    return local.hour == 0 and local.minute == 0


def level_name(level: str) -> str:
    return level if level in LEVELS else "other"


def suppress(cells: dict[tuple[str, ...], int], minimum: int) -> tuple[dict[tuple[str, ...], int], int]:
    """Cells of at least `minimum`, and how many were dropped."""
    kept = {k: v for k, v in cells.items() if v >= minimum}
    return kept, sum(1 for v in cells.values() if 0 < v < minimum)


@dataclass
class ExportInput:
    """Rows read from the school's store for one period (see infra.export)."""

    school_id: str
    start: int
    end: int
    generated: int
    version: str
    policy_version: str = ""
    baseline_version: str = ""
    traffic: list[tuple[str, str, str, int]] = field(default_factory=list)  # (level, category, action, n)
    day: str = ""  # "YYYY-MM-DD" when this export closes a day: the day's figures below
    alerts: list[tuple[str, int]] = field(default_factory=list)  # (type, n)
    reviews: list[tuple[str, int]] = field(default_factory=list)  # (outcome, n)
    reports: list[tuple[str, int]] = field(default_factory=list)  # (outcome, n)
    lists: list[tuple[str, str, int, float]] = field(default_factory=list)  # (source, category, entries, updated)
    uptime_seconds: int = 0
    incidents_dropped: int = 0
    selftest: tuple[int, int, int] | None = None  # (ts, checks, failures) of the latest run
    harmful: list[tuple[str, str]] | None = None  # (domain, category), opted in only


def _cells(rows: Iterable[tuple[str, int]]) -> dict[tuple[str, ...], int]:
    out: dict[tuple[str, ...], int] = {}
    for key, n in rows:
        out[(key or "other",)] = out.get((key or "other",), 0) + int(n)
    return out


def build_export(data: ExportInput, min_cell: int) -> dict[str, Any]:
    """The export as a JSON-ready dict; raises ExportError if it would carry anything it must not."""
    cells: dict[tuple[str, ...], int] = {}
    for level, category, action, n in data.traffic:
        key = (level_name(level), category or "uncategorised", action)
        cells[key] = cells.get(key, 0) + int(n)
    counts, dropped = suppress(cells, min_cell)
    export: dict[str, Any] = {
        "schema": SCHEMA,
        "type": EXPORT_TYPE,
        "id": report_id(data.school_id, data.start),
        "school_id": data.school_id,
        "period": {"start": data.start, "end": data.end},
        "generated": data.generated,
        "version": data.version,
        "policy_version": data.policy_version,
        "baseline_version": data.baseline_version,
        "counts": [{"level": lv, "category": cat, "action": act, "count": n}
                   for (lv, cat, act), n in sorted(counts.items())],
        "suppressed_cells": dropped,
        "daily": None,
        "lists": [{"source": s, "category": c, "entries": int(e), "updated": int(u)}
                  for s, c, e, u in sorted(data.lists)[:MAX_LIST_ROWS]],
        "health": {
            "period_seconds": data.end - data.start,
            "uptime_seconds": max(0, min(int(data.uptime_seconds), data.end - data.start)),
            "incidents_dropped": int(data.incidents_dropped),
            "selftest": None if data.selftest is None else {
                "ts": data.selftest[0], "checks": data.selftest[1], "failures": data.selftest[2]},
        },
    }
    if data.day:
        daily_dropped = 0
        daily: dict[str, Any] = {"day": data.day}
        for name, rows in (("alerts", data.alerts), ("reviews", data.reviews), ("reports", data.reports)):
            kept, n = suppress(_cells(rows), min_cell)
            daily_dropped += n
            label = "type" if name == "alerts" else "outcome"
            daily[name] = [{label: k[0], "count": v} for k, v in sorted(kept.items())]
        daily["suppressed_cells"] = daily_dropped
        export["daily"] = daily
    if data.harmful is not None:
        export["harmful_domains"] = [{"domain": d, "category": c} for d, c in sorted(set(data.harmful))[:MAX_DOMAINS]]
    check_export(export, min_cell)
    return export


def _walk_keys(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _walk_keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk_keys(v)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


_ADDRESS = re.compile(r"\b\d{1,3}(\.\d{1,3}){3}\b|\b[0-9a-f]{1,4}(:[0-9a-f]{0,4}){2,7}\b", re.IGNORECASE)
_PSEUDONYM = re.compile(r"\b[0-9a-z]{1,16}:[0-9a-f]{16}\b")


def check_export(export: Any, min_cell: int | None = None) -> None:
    """Raise ExportError unless `export` is a well-formed export holding aggregates only.

    Used by the school before queueing and by the department's receiver (which
    does not know the school's minimum and passes None)."""
    if not isinstance(export, dict):
        raise ExportError("the export is not a JSON object")
    if export.get("schema") != SCHEMA or export.get("type") != EXPORT_TYPE:
        raise ExportError(f"unknown export type or schema (expected {EXPORT_TYPE} schema {SCHEMA})")
    school = export.get("school_id")
    if not isinstance(school, str) or not valid_school_id(school):
        raise ExportError("school_id is missing or not a valid id")
    period = export.get("period")
    if not (isinstance(period, dict) and isinstance(period.get("start"), int) and isinstance(period.get("end"), int)
            and 0 < period["end"] - period["start"] <= 86_400 + 3600):
        raise ExportError("period must have integer start and end at most a day apart")
    if export.get("id") != report_id(school, period["start"]):
        raise ExportError("id must be '<school_id>:<period start>'")
    bad = set(_walk_keys(export)) & _FORBIDDEN_KEYS
    if bad:
        raise ExportError(f"the export carries personal fields: {', '.join(sorted(bad))}")
    sources = {row.get("source") for row in export.get("lists") or [] if isinstance(row, dict)}
    for text in _strings(export):
        # List sources are file paths such as blocklists/adult/domains: the only strings with a slash.
        slash = "/" in text and text not in sources
        if _ADDRESS.search(text) or _PSEUDONYM.search(text) or "://" in text or slash:
            raise ExportError(f"the export carries an address, pseudonym, URL or path: {text[:40]!r}")
    counts = export.get("counts")
    if not isinstance(counts, list):
        raise ExportError("counts must be a list")
    for c in counts:
        if not (isinstance(c, dict) and isinstance(c.get("count"), int) and c.get("count", 0) >= 0
                and c.get("level") in LEVELS and c.get("action") in ACTIONS
                and isinstance(c.get("category"), str) and _NAME.match(c["category"])):
            raise ExportError(f"a count cell is malformed: {str(c)[:80]}")
        if min_cell is not None and c["count"] < min_cell:
            raise ExportError(f"a count cell under the minimum of {min_cell} would leave the school")
    daily = export.get("daily")
    if daily is not None:
        if not isinstance(daily, dict) or not re.match(r"^\d{4}-\d{2}-\d{2}$", str(daily.get("day", ""))):
            raise ExportError("daily must hold a day as YYYY-MM-DD")
        for name in ("alerts", "reviews", "reports"):
            for c in daily.get(name, []):
                if not (isinstance(c, dict) and isinstance(c.get("count"), int)):
                    raise ExportError(f"daily {name} cell is malformed")
                if min_cell is not None and c["count"] < min_cell:
                    raise ExportError(f"a daily {name} cell under the minimum of {min_cell} would leave the school")
    for d in export.get("harmful_domains") or []:
        if not (isinstance(d, dict) and isinstance(d.get("domain"), str) and _DOMAIN.match(d["domain"])):
            raise ExportError("harmful_domains holds something that is not a domain name")


def encode(export: dict[str, Any]) -> bytes:
    """The bytes that are signed and sent (compact, sorted keys, UTF-8)."""
    return json.dumps(export, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
