from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from addons.core.errors import Collector
from addons.core.home import Control, Controls, Usage, decide_home, level_for_age, next_midnight, parse_home
from addons.core.model import Reason
from tests.core.test_services import ROOT, load

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SERVICES = load((ROOT / "blocklists" / "services.yaml").read_text("utf-8"))[0]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)  # 2026-11-23 is a Monday


CHILD = {
    "id": "c1", "name": "Bống", "age": 9, "devices": ["192.168.1.23"],
    "rules": {"tiktok": "block", "games": {"limit": 60, "hours": [{"days": "daily", "from": "17:00", "to": "21:00"}]},
              "youtube": {"limit": 30}},
    "bedtime": [{"days": "sun-thu", "from": "21:30", "to": "06:30"}],
    "homework": [{"days": "mon-fri", "from": "19:00", "to": "20:00"}],
}


def home(child: dict = CHILD):  # type: ignore[no-untyped-def, type-arg]
    errors = Collector()
    h = parse_home({"children": [child]}, SERVICES, errors)
    assert errors.items == []
    return h


def decide(when: str, host: str, usage: Usage | None = None, controls: Controls = Controls()):  # type: ignore[no-untyped-def]
    h = home()
    child = h.child_for("192.168.1.23")
    assert child is not None
    return decide_home(child, SERVICES.match(host), SERVICES, at(when), usage or Usage(), controls)


@pytest.mark.parametrize("age,level", [(4, "preschool"), (6, "primary"), (10, "primary"), (11, "lower-secondary"),
                                       (14, "lower-secondary"), (15, "upper-secondary")])
def test_age_gives_the_schools_level(age: int, level: str) -> None:
    assert level_for_age(age) == level


def test_age_sets_the_level_and_devices_are_indexed() -> None:
    h = home()
    assert h.children["c1"].level == "primary"
    assert h.child_for("::ffff:192.168.1.23") is h.children["c1"]
    assert h.child_for("192.168.1.24") is None


@pytest.mark.parametrize("when,host,reason", [
    ("2026-11-23T18:00", "www.roblox.com", None),  # inside the games' hours
    ("2026-11-23T10:00", "www.roblox.com", Reason.SCHEDULE),  # outside them
    ("2026-11-23T10:00", "www.tiktok.com", Reason.SERVICE),  # blocked at any time
    ("2026-11-23T10:00", "example.org", None),  # not a service
    ("2026-11-23T19:30", "www.youtube.com", Reason.HOMEWORK),  # homework closes named services
    ("2026-11-23T19:30", "example.org", None),  # ... not other sites
    ("2026-11-23T22:00", "example.org", Reason.BEDTIME),  # bedtime closes everything
    ("2026-11-24T06:00", "example.org", Reason.BEDTIME),  # overnight into Tuesday morning
    ("2026-11-24T06:30", "example.org", None),
    ("2026-11-28T22:00", "example.org", None),  # Saturday night: no bedtime (sun-thu)
    ("2026-11-29T23:00", "example.org", Reason.BEDTIME),  # Sunday night
])
def test_windows(when: str, host: str, reason: Reason | None) -> None:
    got = decide(when, host)
    assert (got.reason if got else None) == reason


def test_bedtime_says_when_it_ends() -> None:
    got = decide("2026-11-23T22:00", "example.org")
    assert got is not None and got.until == at("2026-11-24T06:30").timestamp()


def test_budget_counts_minutes_of_the_group_once_and_resets_at_midnight() -> None:
    usage = Usage()
    start = at("2026-11-23T17:00")
    for m in range(59):
        t = start.replace(minute=m)
        assert usage.record("c1", "roblox", t)
        usage.record("c1", "minecraft", t)  # the same minute on another game counts once
    assert not usage.record("c1", "roblox", start)  # a minute counts once
    assert usage.used("c1", SERVICES.members("games")) == 59
    assert decide("2026-11-23T18:00", "www.roblox.com", usage) is None
    usage.record("c1", "pubg", at("2026-11-23T18:00"))
    got = decide("2026-11-23T18:01", "www.minecraft.net", usage)
    assert got is not None and got.reason is Reason.BUDGET
    assert got.until == next_midnight(at("2026-11-23T18:01")).timestamp() == at("2026-11-24T00:00").timestamp()
    assert decide("2026-11-23T18:01", "www.youtube.com", usage) is None  # another budget
    usage.roll("2026-11-24")  # midnight
    assert decide("2026-11-24T18:01", "www.minecraft.net", usage) is None


def test_pause_and_more_time() -> None:
    ts = at("2026-11-23T10:00").timestamp()
    paused = Controls([Control(1, "pause", "c1", int(ts) - 60, int(ts) + 10 * 365 * 86400)])
    got = decide("2026-11-23T10:00", "example.org", controls=paused)
    assert got is not None and got.reason is Reason.PAUSED and got.until is None
    whole = Controls([Control(2, "pause", "*", int(ts) - 60, int(ts) + 3600)])
    got = decide("2026-11-23T10:00", "example.org", controls=whole)
    assert got is not None and got.reason is Reason.PAUSED and got.until == ts + 3600
    assert decide("2026-11-23T11:00", "example.org", controls=whole) is None  # expired
    bedtime = at("2026-11-23T22:00").timestamp()
    more = Controls([Control(3, "extend", "c1", int(bedtime) - 60, int(bedtime) + 30 * 60)])
    assert decide("2026-11-23T22:00", "example.org", controls=more) is None
    assert decide("2026-11-23T22:00", "www.tiktok.com", controls=more).reason is Reason.SERVICE  # type: ignore[union-attr]
    assert decide("2026-11-23T22:31", "example.org", controls=more).reason is Reason.BEDTIME  # type: ignore[union-attr]


@pytest.mark.parametrize("change,match", [
    ({"rules": {"tiktk": "block"}}, r"unknown service 'tiktk'. Fix: did you mean 'tiktok'"),
    ({"rules": {"games": {"limit": -5}}}, r"limit must be minutes from 0 to 1440"),
    ({"bedtime": [{"days": "mon", "from": "25:00", "to": "06:00"}]}, r"bedtime\[0\]: time '25:00' does not exist"),
    ({"devices": ["phone of Bống"]}, r"'phone of Bống' is not a device address"),
    ({"level": "college", "age": None}, r"unknown level 'college'"),
    ({"name": ""}, r"the name must have 1 to 40 characters"),
])
def test_invalid_choices_are_reported(change: dict, match: str) -> None:  # type: ignore[type-arg]
    import re

    errors = Collector()
    parse_home({"children": [{**CHILD, **change}]}, SERVICES, errors)
    assert any(re.search(match, str(e)) for e in errors.errors), [str(e) for e in errors.errors]


def test_a_device_belongs_to_one_child() -> None:
    errors = Collector()
    parse_home({"children": [CHILD, {**CHILD, "id": "c2", "name": "Tí"}]}, SERVICES, errors)
    assert any("already belongs to another child" in str(e) for e in errors.errors)


def test_round_trip() -> None:
    h = home()
    errors = Collector()
    again = parse_home(h.as_data(), SERVICES, errors)
    assert errors.items == [] and again.as_data() == h.as_data()


