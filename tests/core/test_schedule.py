from datetime import datetime

import pytest

from addons.core.schedule import (
    ScheduleError,
    compile_schedule,
    make_window,
    parse_days,
    parse_time,
)


@pytest.mark.parametrize(
    "spec, days",
    [
        ("mon-fri", (0, 1, 2, 3, 4)),
        ("fri-mon", (0, 4, 5, 6)),
        ("sat,sun", (5, 6)),
        (["mon", "wed"], (0, 2)),
        ("daily", tuple(range(7))),
        ("weekend", (5, 6)),
        ("t2,t3,t4,t5,t6", (0, 1, 2, 3, 4)),
        ("CN", (6,)),
    ],
)
def test_days(spec: object, days: tuple[int, ...]) -> None:
    assert parse_days(spec) == days


@pytest.mark.parametrize(
    "start, end, message",
    [
        ("25:00", "26:00", "does not exist"),
        ("07:60", "08:00", "does not exist"),
        ("7h", "8h", "is not HH:MM"),
        ("08:00", "08:00", "is empty"),
        ("24:00", "08:00", "does not exist"),
    ],
)
def test_impossible_windows(start: str, end: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        make_window("mon", start, end)


def test_unknown_day() -> None:
    with pytest.raises(ScheduleError, match="unknown day 'funday'"):
        parse_days("funday")
    with pytest.raises(ScheduleError, match="unknown day range"):
        parse_days("mon-xyz")


@pytest.mark.parametrize(
    "at, active",
    [
        ("2026-11-23T06:59", False),  # Monday
        ("2026-11-23T07:00", True),
        ("2026-11-23T16:59", True),
        ("2026-11-23T17:00", False),
        ("2026-11-28T12:00", False),  # Saturday
        ("2026-11-29T23:00", True),  # Sunday night ...
        ("2026-11-30T05:59", True),  # ... into Monday morning (week wrap)
        ("2026-11-30T06:00", False),
    ],
)
def test_active(at: str, active: bool) -> None:
    s = compile_schedule("x", [make_window("mon-fri", "07:00", "17:00"), make_window("sun", "22:00", "06:00")])
    assert s.active(datetime.fromisoformat(at)) is active


def test_end_of_day() -> None:
    assert parse_time("24:00", end=True) == 1440
    s = compile_schedule("x", [make_window("mon", "23:00", "24:00")])
    assert s.active(datetime.fromisoformat("2026-11-23T23:59"))
    assert not s.active(datetime.fromisoformat("2026-11-24T00:00"))
