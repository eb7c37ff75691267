from datetime import date
from pathlib import Path

from addons.core.home import Child, Home
from dashboard import family


def test_update_child_keeps_the_order_and_replaces_by_id() -> None:
    data = {"children": [{"id": "a", "name": "A"}, {"id": "b", "name": "B"}]}
    assert family.update_child(data, {"id": "a", "name": "A2"})["children"] == [
        {"id": "a", "name": "A2"}, {"id": "b", "name": "B"}]
    assert [c["id"] for c in family.update_child(data, {"id": "c", "name": "C"})["children"]] == ["a", "b", "c"]
    assert family.new_child_id(Home({"child1": Child("child1", "A", "primary")})) == "child2"


def test_window_from_a_form() -> None:
    assert family.window("sun-thu", "21:30", "06:30") == [{"days": "sun-thu", "from": "21:30", "to": "06:30"}]
    assert family.window("whenever", "21:30", "06:30")[0]["days"] == "daily"
    assert family.window("daily", "", "06:30") == []


def test_week_and_csv_from_an_empty_store(tmp_path: Path) -> None:
    week = family.week(tmp_path / "none.db", date(2026, 11, 29))
    assert week.days[0] == "2026-11-23" and week.days[-1] == "2026-11-29" and week.minutes == {}
    assert family.summary_csv(week, Home({})) == "day,child,kind,what,value\r\n"
