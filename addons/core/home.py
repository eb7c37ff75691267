"""Home gateway: a parent's children, their devices, level presets, named-service
rules, bedtime and homework windows, daily budgets, pause and "30 more minutes".

Pure: the parent's choices arrive as a JSON-like dict (written by the dashboard into
the store), usage as minute sets, time as a datetime. The decision order, first match
wins (docs/home.md explains it to parents):

1. paused (this child, or the whole home): nothing opens until a parent resumes
2. "30 more minutes" in force: bedtime, homework, hours and budgets are lifted
   (services the parent blocked stay blocked)
3. bedtime: the whole internet closes
4. a service the parent blocked for this child
5. homework time: every named service closes (other sites stay open)
6. a service (or its group) outside its allowed hours
7. a service (or its group) whose daily budget is used up, until local midnight
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .errors import Collector, suggest
from .model import Reason
from .schedule import DAYS, Schedule, ScheduleError, Window, compile_schedule, make_window
from .services import Services

LEVELS = ("preschool", "primary", "lower-secondary", "upper-secondary")
CHILD_KEYS = ("id", "name", "level", "age", "devices", "rules", "bedtime", "homework")
RULE_KEYS = ("limit", "hours")
WHOLE_HOME = "*"
CONTROL_KINDS = ("pause", "extend")
MAX_LIMIT = 24 * 60
_CHILD_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
SOURCE = "home settings"


def level_for_age(age: int) -> str:
    """The school level a child of this age belongs to (the same presets the schools use)."""
    if age <= 5:
        return "preschool"
    if age <= 10:
        return "primary"
    if age <= 14:
        return "lower-secondary"
    return "upper-secondary"


@dataclass(frozen=True)
class Windows:
    """Weekly windows as the parent wrote them (for the pages) and compiled (for decisions)."""

    spec: tuple[tuple[str, str, str], ...]  # (days, from, to)
    schedule: Schedule

    def active(self, at: datetime) -> bool:
        return self.schedule.active(at)


def _minute(at: datetime) -> int:
    return at.weekday() * 1440 + at.hour * 60 + at.minute


def next_change(schedule: Schedule, at: datetime) -> datetime | None:
    """The first minute after `at` at which the schedule's state flips (None: never)."""
    now = bool((schedule.mask >> _minute(at)) & 1)
    start = at.replace(second=0, microsecond=0)
    for step in range(1, 7 * 1440 + 1):
        m = (_minute(at) + step) % (7 * 1440)
        if bool((schedule.mask >> m) & 1) != now:
            return start + timedelta(minutes=step)
    return None


def next_midnight(at: datetime) -> datetime:
    day = at.date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=at.tzinfo)


@dataclass(frozen=True)
class Rule:
    """What a parent chose for one service or group: block, or a budget and/or hours."""

    key: str
    block: bool = False
    limit: int | None = None  # minutes a day
    hours: Windows | None = None  # allowed only inside these windows

    def as_data(self) -> Any:
        if self.block:
            return "block"
        out: dict[str, Any] = {}
        if self.limit is not None:
            out["limit"] = self.limit
        if self.hours is not None:
            out["hours"] = [{"days": d, "from": f, "to": t} for d, f, t in self.hours.spec]
        return out


@dataclass(frozen=True)
class Child:
    id: str
    name: str
    level: str
    devices: tuple[str, ...] = ()
    rules: dict[str, Rule] = field(default_factory=dict)
    bedtime: Windows | None = None
    homework: Windows | None = None
    age: int | None = None

    def as_data(self) -> dict[str, Any]:
        def windows(w: Windows | None) -> list[dict[str, str]]:
            return [{"days": d, "from": f, "to": t} for d, f, t in w.spec] if w else []

        out: dict[str, Any] = {"id": self.id, "name": self.name, "level": self.level, "devices": list(self.devices),
                               "rules": {k: r.as_data() for k, r in self.rules.items()},
                               "bedtime": windows(self.bedtime), "homework": windows(self.homework)}
        if self.age is not None:
            out["age"] = self.age
        return out


@dataclass(frozen=True)
class Home:
    children: dict[str, Child]
    devices: dict[str, str] = field(default_factory=dict)  # canonical address → child id

    def child_for(self, address: str) -> Child | None:
        cid = self.devices.get(canonical_address(address) or "")
        return self.children.get(cid) if cid else None

    def as_data(self) -> dict[str, Any]:
        return {"children": [c.as_data() for c in self.children.values()]}


EMPTY_HOME = Home({})


def canonical_address(text: str) -> str | None:
    try:
        ip = ipaddress.ip_address(str(text).strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip)


def _windows(value: Any, where: str, errors: Collector) -> Windows | None:
    if value in (None, [], ""):
        return None
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, list):
        errors.error(SOURCE, None, f"{where} must be a list of windows",
                     "write [{\"days\": \"mon-fri\", \"from\": \"21:00\", \"to\": \"06:30\"}]")
        return None
    compiled: list[Window] = []
    spec: list[tuple[str, str, str]] = []
    for i, w in enumerate(value):
        if not isinstance(w, Mapping) or not {"days", "from", "to"} <= set(w):
            errors.error(SOURCE, None, f"{where}[{i}] needs days, from and to", "for example days: daily")
            continue
        try:
            compiled.append(make_window(w["days"], w["from"], w["to"]))
        except ScheduleError as e:
            errors.error(SOURCE, None, f"{where}[{i}]: {e}", "use days such as mon-fri and times such as 21:00")
            continue
        spec.append((str(w["days"]), str(w["from"]), str(w["to"])))
    if not compiled:
        return None
    return Windows(tuple(spec), compile_schedule(where, compiled))


def _rule(key: str, value: Any, where: str, errors: Collector) -> Rule | None:
    if value == "block":
        return Rule(key, block=True)
    if value in ("allow", None, {}):
        return None
    if not isinstance(value, Mapping):
        errors.error(SOURCE, None, f"{where}: '{value}' is not a rule", "use block, or {limit: 60, hours: [...]}")
        return None
    unknown = set(value) - set(RULE_KEYS)
    if unknown:
        errors.error(SOURCE, None, f"{where}: unknown key '{sorted(unknown)[0]}'", suggest(sorted(unknown)[0], RULE_KEYS))
        return None
    limit = value.get("limit")
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_LIMIT:
            errors.error(SOURCE, None, f"{where}.limit must be minutes from 0 to {MAX_LIMIT}, not {limit!r}",
                         "for example limit: 60 (one hour a day)")
            return None
    hours = _windows(value.get("hours"), f"{where}.hours", errors)
    if limit is None and hours is None:
        return None
    return Rule(key, False, limit, hours)


def parse_home(data: Any, services: Services, errors: Collector) -> Home:
    """Validate the parent's choices; every problem goes to `errors` (nothing is half-applied)."""
    if data is None:
        return EMPTY_HOME
    if not isinstance(data, Mapping) or set(data) - {"children"}:
        errors.error(SOURCE, None, "home settings must be {\"children\": [...]}", "save the settings again")
        return EMPTY_HOME
    children: dict[str, Child] = {}
    devices: dict[str, str] = {}
    keys = services.keys()
    for i, c in enumerate(data.get("children") or []):
        if not isinstance(c, Mapping):
            errors.error(SOURCE, None, f"child {i + 1} is not a mapping", "save the settings again")
            continue
        cid = str(c.get("id", ""))
        who = f"child '{c.get('name') or cid}'"
        unknown = set(c) - set(CHILD_KEYS)
        if unknown:
            errors.error(SOURCE, None, f"{who}: unknown key '{sorted(unknown)[0]}'", suggest(sorted(unknown)[0], CHILD_KEYS))
        if not _CHILD_ID.match(cid) or cid == WHOLE_HOME:
            errors.error(SOURCE, None, f"{who}: id '{cid}' is not valid", "use lower-case letters and digits")
            continue
        if cid in children:
            errors.error(SOURCE, None, f"{who}: id '{cid}' is used twice", "give each child its own id")
            continue
        name = str(c.get("name") or "").strip()
        if not name or len(name) > 40:
            errors.error(SOURCE, None, f"child {i + 1}: the name must have 1 to 40 characters", "type a nickname")
            continue
        age = c.get("age")
        if age is not None and (isinstance(age, bool) or not isinstance(age, int) or not 2 <= age <= 18):
            errors.error(SOURCE, None, f"{who}: age must be from 2 to 18, not {age!r}", "or choose a school level")
            age = None
        level = str(c.get("level") or (level_for_age(age) if age is not None else ""))
        if level not in LEVELS:
            errors.error(SOURCE, None, f"{who}: unknown level '{level}'", suggest(level, LEVELS))
            continue
        devs: list[str] = []
        for d in c.get("devices") or []:
            addr = canonical_address(str(d))
            if addr is None:
                errors.error(SOURCE, None, f"{who}: '{d}' is not a device address",
                             "type an address such as 192.168.1.23")
                continue
            if addr in devices and devices[addr] != cid:
                errors.error(SOURCE, None, f"{who}: device {addr} already belongs to another child",
                             "a device belongs to one child; remove it there first")
                continue
            devices[addr] = cid
            if addr not in devs:
                devs.append(addr)
        rules: dict[str, Rule] = {}
        raw_rules = c.get("rules") or {}
        if not isinstance(raw_rules, Mapping):
            errors.error(SOURCE, None, f"{who}: rules must map services to rules", "save the settings again")
            raw_rules = {}
        for key, value in raw_rules.items():
            if key not in keys:
                errors.error(SOURCE, None, f"{who}: unknown service '{key}'",
                             suggest(str(key), keys) + "; services are defined in blocklists/services.yaml")
                continue
            rule = _rule(str(key), value, f"{who}.rules.{key}", errors)
            if rule is not None:
                rules[str(key)] = rule
        bedtime = _windows(c.get("bedtime"), f"{who}.bedtime", errors)
        homework = _windows(c.get("homework"), f"{who}.homework", errors)
        children[cid] = Child(cid, name, level, tuple(devs), rules, bedtime, homework, age)
    return Home(children, devices)


# ----------------------------------------------------------------------------- controls


@dataclass(frozen=True)
class Control:
    """A pause (until resumed or `ends`) or "more time" (bedtime, homework, hours and
    budgets lifted until `ends`) for one child or the whole home (`child == "*"`)."""

    id: int
    kind: str  # "pause" | "extend"
    child: str
    starts: int
    ends: int
    created_by: str = ""

    def active(self, ts: float) -> bool:
        return self.starts <= ts < self.ends


class Controls:
    def __init__(self, items: Iterable[Control] = ()):
        self.items = tuple(items)

    def find(self, kind: str, child: str, ts: float) -> Control | None:
        hits = [c for c in self.items if c.kind == kind and c.child in (child, WHOLE_HOME) and c.active(ts)]
        return max(hits, key=lambda c: c.ends) if hits else None


NO_CONTROLS = Controls()


# ----------------------------------------------------------------------------- usage


def day_and_minute(at: datetime) -> tuple[str, int]:
    return at.date().isoformat(), at.hour * 60 + at.minute


class Usage:
    """Minutes of use today per (child, service): the minutes in which a child's device made
    at least one allowed request to the service. Sets, so that two processes counting the
    same minute count it once; a new day starts empty (the budgets reset at midnight)."""

    def __init__(self, day: str = ""):
        self.day = day
        self.minutes: dict[tuple[str, str], set[int]] = {}

    def roll(self, day: str) -> None:
        if day != self.day:
            self.day = day
            self.minutes = {}

    def record(self, child: str, service: str, at: datetime) -> bool:
        """Count this minute; True if it is new here."""
        day, minute = day_and_minute(at)
        self.roll(day)
        seen = self.minutes.setdefault((child, service), set())
        if minute in seen:
            return False
        seen.add(minute)
        return True

    def merge(self, day: str, rows: Iterable[tuple[str, str, int]]) -> None:
        """Add (child, service, minute) rows read from the store for `day`."""
        self.roll(day)
        for child, service, minute in rows:
            self.minutes.setdefault((child, service), set()).add(int(minute))

    def used(self, child: str, services: Iterable[str]) -> int:
        """Minutes in which any of these services was used (a minute counts once)."""
        out: set[int] = set()
        for s in services:
            out |= self.minutes.get((child, s), set())
        return len(out)


# ----------------------------------------------------------------------------- decision


@dataclass(frozen=True)
class HomeDecision:
    reason: Reason
    rule: str
    until: float | None = None  # unix seconds when access comes back; None: when a parent resumes
    service: str | None = None


def _rules_for(child: Child, service: str, services: Services) -> list[Rule]:
    svc = services.by_id.get(service)
    keys = [service] + ([svc.group] if svc else [])
    return [child.rules[k] for k in keys if k in child.rules]


def decide_home(child: Child, hit: tuple[str, ...], services: Services, at: datetime, usage: Usage,
                controls: Controls = NO_CONTROLS) -> HomeDecision | None:
    """Why this request from this child is blocked, or None (allowed). `hit` are the
    services the request belongs to (Services.match)."""
    ts = at.timestamp()
    pause = controls.find("pause", child.id, ts)
    if pause is not None:
        until = float(pause.ends) if pause.ends - pause.starts < 366 * 86400 else None
        who = "the whole home" if pause.child == WHOLE_HOME else child.name
        return HomeDecision(Reason.PAUSED, f"paused for {who} (#{pause.id})", until)
    extended = controls.find("extend", child.id, ts) is not None
    if not extended and child.bedtime is not None and child.bedtime.active(at):
        back = next_change(child.bedtime.schedule, at)
        return HomeDecision(Reason.BEDTIME, "bedtime", back.timestamp() if back else None)
    for service in hit:
        for rule in _rules_for(child, service, services):
            if rule.block:
                return HomeDecision(Reason.SERVICE, f"{rule.key}: blocked by a parent", None, service)
    if extended or not hit:
        return None
    if child.homework is not None and child.homework.active(at):
        back = next_change(child.homework.schedule, at)
        return HomeDecision(Reason.HOMEWORK, "homework time", back.timestamp() if back else None, hit[0])
    for service in hit:
        for rule in _rules_for(child, service, services):
            if rule.hours is not None and not rule.hours.active(at):
                back = next_change(rule.hours.schedule, at)
                return HomeDecision(Reason.SCHEDULE, f"{rule.key}: outside its hours",
                                    back.timestamp() if back else None, service)
            if rule.limit is not None:
                used = usage.used(child.id, services.members(rule.key))
                if used >= rule.limit:
                    return HomeDecision(Reason.BUDGET, f"{rule.key}: {used} of {rule.limit} minutes used today",
                                        next_midnight(at).timestamp(), service)
    return None


def budgets(child: Child, services: Services, usage: Usage) -> list[tuple[str, int, int]]:
    """(rule key, minutes used today, daily limit) for each budget of a child, for the parent's page."""
    return [(k, usage.used(child.id, services.members(k)), r.limit) for k, r in child.rules.items()
            if r.limit is not None]


__all__ = ["DAYS", "Child", "Control", "Controls", "Home", "HomeDecision", "Rule", "Usage", "decide_home",
           "level_for_age", "parse_home"]
