"""Weekly time windows, compiled to a bit mask over the minutes of a week.

A window is `{days: mon-fri, from: "07:00", to: "17:00"}`. Days are
`mon..sun`, ranges (`mon-fri`, `fri-mon` wraps), comma lists, `daily`,
`weekdays` or `weekend`. `to` may be `24:00`. A window whose `to` is earlier
than its `from` runs overnight into the next day (`22:00`-`06:00`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES = {
    "daily": DAYS,
    "everyday": DAYS,
    "weekdays": DAYS[:5],
    "weekend": DAYS[5:],
    "monday": ("mon",), "tuesday": ("tue",), "wednesday": ("wed",), "thursday": ("thu",),
    "friday": ("fri",), "saturday": ("sat",), "sunday": ("sun",),
    # Vietnamese: Thứ Hai..Thứ Bảy, Chủ nhật (T2..T7, CN)
    "t2": ("mon",), "t3": ("tue",), "t4": ("wed",), "t5": ("thu",), "t6": ("fri",),
    "t7": ("sat",), "cn": ("sun",),
}
WEEK_MINUTES = 7 * 24 * 60


class ScheduleError(ValueError):
    pass


def parse_days(spec: object) -> tuple[int, ...]:
    """Day spec → sorted weekday numbers (Monday = 0)."""
    if isinstance(spec, list):
        items = [str(x) for x in spec]
    elif isinstance(spec, str):
        items = [x for x in spec.replace(" ", "").split(",") if x]
    else:
        raise ScheduleError(f"days must be text such as 'mon-fri' or a list, not {spec!r}")
    if not items:
        raise ScheduleError("no days given")
    out: set[int] = set()
    for item in items:
        item = item.lower().strip()
        if item in _DAY_ALIASES:
            out.update(DAYS.index(d) for d in _DAY_ALIASES[item])
        elif "-" in item:
            a, _, b = item.partition("-")
            if a not in DAYS or b not in DAYS:
                raise ScheduleError(f"unknown day range '{item}' (use mon, tue, wed, thu, fri, sat, sun)")
            i, j = DAYS.index(a), DAYS.index(b)
            while True:
                out.add(i)
                if i == j:
                    break
                i = (i + 1) % 7
        elif item in DAYS:
            out.add(DAYS.index(item))
        else:
            raise ScheduleError(
                f"unknown day '{item}' (use mon..sun, ranges such as mon-fri, daily, weekdays or weekend)"
            )
    return tuple(sorted(out))


def parse_time(value: object, *, end: bool = False) -> int:
    """'HH:MM' → minutes after midnight; '24:00' only as an end."""
    text = str(value).strip()
    hh, sep, mm = text.partition(":")
    if not sep or not hh.isdigit() or not mm.isdigit() or len(mm) != 2 or len(hh) > 2:
        raise ScheduleError(f"time '{text}' is not HH:MM (for example \"07:30\")")
    h, m = int(hh), int(mm)
    if h == 24 and m == 0 and end:
        return 1440
    if h > 23 or m > 59:
        raise ScheduleError(f"time '{text}' does not exist (hours 00-23, minutes 00-59)")
    return h * 60 + m


@dataclass(frozen=True)
class Window:
    days: tuple[int, ...]
    start: int  # minutes after midnight
    end: int  # minutes after midnight; <= start means overnight

    def mask(self) -> int:
        bits = 0
        length = self.end - self.start if self.end > self.start else 1440 - self.start + self.end
        run = (1 << length) - 1
        for d in self.days:
            offset = d * 1440 + self.start
            bits |= run << offset
            overflow = offset + length - WEEK_MINUTES
            if overflow > 0:  # Sunday night into Monday morning
                bits |= (1 << overflow) - 1
        return bits & ((1 << WEEK_MINUTES) - 1)


def make_window(days: object, start: object, end: object) -> Window:
    w = Window(parse_days(days), parse_time(start), parse_time(end, end=True))
    if w.start == w.end:
        raise ScheduleError(
            f"window from {start} to {end} is empty (the start equals the end)"
        )
    return w


@dataclass(frozen=True)
class Schedule:
    name: str
    mask: int

    def active(self, at: datetime) -> bool:
        minute = at.weekday() * 1440 + at.hour * 60 + at.minute
        return bool((self.mask >> minute) & 1)


def compile_schedule(name: str, windows: list[Window]) -> Schedule:
    mask = 0
    for w in windows:
        mask |= w.mask()
    return Schedule(name, mask)
