"""The parent's side of the home gateway: read the choices in force, change them
(validated with core.home before they are stored, so a broken edit never replaces a
working one), today's use and the weekly summary. The views stay thin."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from addons.core.errors import Collector
from addons.core.home import (
    EMPTY_HOME,
    WHOLE_HOME,
    Child,
    Controls,
    Home,
    Usage,
    budgets,
    day_and_minute,
    decide_home,
    parse_home,
)
from addons.core.services import Services
from addons.infra import home_store

# Choices offered on the rules page (the file format accepts any days: core.schedule).
DAY_CHOICES = ("daily", "sun-thu", "mon-fri", "sat-sun")


class HomeError(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def current(db: Path, services: Services) -> tuple[Home, dict[str, Any]]:
    """The newest valid version of the parent's choices and its data."""
    for _, raw in home_store.config_versions(db, limit=50):
        errors = Collector()
        home = parse_home(raw, services, errors) if raw is not None else None
        if home is not None and not errors.errors:
            return home, home.as_data()
    return EMPTY_HOME, {"children": []}


def save(db: Path, data: dict[str, Any], services: Services, author: str, now: float) -> Home:
    """Validate, then store as the new version; HomeError lists every problem."""
    errors = Collector()
    home = parse_home(data, services, errors)
    if errors.errors:
        raise HomeError([e.message + (f" ({e.fix})" if e.fix else "") for e in errors.errors])
    home_store.save_config(db, home.as_data(), author, now)
    return home


def new_child_id(home: Home) -> str:
    n = 1
    while f"child{n}" in home.children:
        n += 1
    return f"child{n}"


def update_child(data: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """The data with one child added or replaced (by id)."""
    children = [c for c in data.get("children", []) if c.get("id") != child["id"]]
    existing = [c for c in data.get("children", []) if c.get("id") == child["id"]]
    if existing:
        index = data["children"].index(existing[0])
        children.insert(index, child)
    else:
        children.append(child)
    return {"children": children}


def child_data(data: dict[str, Any], cid: str) -> dict[str, Any] | None:
    for c in data.get("children", []):
        if c.get("id") == cid:
            return dict(c)
    return None


def window(days: str, start: str, end: str) -> list[dict[str, str]]:
    """One window from a form (empty when a time is missing)."""
    if not start or not end:
        return []
    return [{"days": days if days in DAY_CHOICES else "daily", "from": start, "to": end}]


@dataclass(frozen=True)
class ChildStatus:
    child: Child
    paused: bool
    whole_home_paused: bool
    extended_until: int | None
    blocked_now: str | None  # a reason code when the internet is closed right now (pause, bedtime)
    today: list[tuple[str, int]]  # (service id, minutes), most used first
    budgets: list[tuple[str, int, int]]  # (rule key, used, limit)


def statuses(db: Path, home: Home, services: Services, now: datetime) -> list[ChildStatus]:
    day, _ = day_and_minute(now)
    usage = Usage()
    usage.merge(day, home_store.usage_minutes(db, day))
    controls = Controls(home_store.active_controls(db, now.timestamp()))
    out = []
    for child in home.children.values():
        pause = controls.find("pause", child.id, now.timestamp())
        extend = controls.find("extend", child.id, now.timestamp())
        decision = decide_home(child, (), services, now, usage, controls)
        today = sorted(((s, len(m)) for (c, s), m in usage.minutes.items() if c == child.id),
                       key=lambda x: (-x[1], x[0]))
        out.append(ChildStatus(child, pause is not None, pause is not None and pause.child == WHOLE_HOME,
                               extend.ends if extend else None, decision.reason.value if decision else None,
                               today, budgets(child, services, usage)))
    return out


@dataclass(frozen=True)
class Summary:
    days: list[str]
    minutes: dict[str, dict[str, dict[str, int]]]  # child → service → day → minutes
    blocks: dict[str, dict[str, int]]  # child → "reason:what" → count


def week(db: Path, end: date) -> Summary:
    days = [(end - timedelta(days=i)).isoformat() for i in range(6, -1, -1)]
    minutes: dict[str, dict[str, dict[str, int]]] = {}
    for (day, child, service), n in home_store.usage_by_day(db, days[0], days[-1]).items():
        minutes.setdefault(child, {}).setdefault(service, {})[day] = n
    blocks: dict[str, dict[str, int]] = {}
    for _, child, reason, what, n in home_store.blocks_by_day(db, days[0], days[-1]):
        key = f"{reason}:{what}" if what else reason
        blocks.setdefault(child, {})[key] = blocks.get(child, {}).get(key, 0) + n
    return Summary(days, minutes, blocks)


def summary_csv(summary: Summary, home: Home) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["day", "child", "kind", "what", "value"])
    names = {c.id: c.name for c in home.children.values()}
    for child, services in sorted(summary.minutes.items()):
        for service, per_day in sorted(services.items()):
            for day in summary.days:
                if per_day.get(day):
                    w.writerow([day, names.get(child, child), "minutes", service, per_day[day]])
    for child, counts in sorted(summary.blocks.items()):
        for what, n in sorted(counts.items()):
            w.writerow([f"{summary.days[0]}..{summary.days[-1]}", names.get(child, child), "blocked", what, n])
    return out.getvalue()
