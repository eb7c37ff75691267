import asyncio
from pathlib import Path

from addons.infra import home_store
from addons.infra.store import Writer


def test_config_versions_controls_and_usage(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    assert home_store.latest_config(db) is None
    first = home_store.save_config(db, {"children": []}, "parent", 100)
    second = home_store.save_config(db, {"children": [{"id": "a"}]}, "parent", 200)
    assert home_store.latest_config(db) == (second, {"children": [{"id": "a"}]})
    assert [v for v, _ in home_store.config_versions(db, after=first)] == [second]

    pause = home_store.add_control(db, "pause", "a", None, "parent", 1000)
    more = home_store.add_control(db, "extend", "*", 30, "parent", 1000)
    assert more.ends == 1000 + 1800 and pause.ends > 10**8
    assert {c.id for c in home_store.active_controls(db, 1001)} == {pause.id, more.id}
    assert home_store.end_controls(db, "pause", "a", 1100) == 1
    assert [c.id for c in home_store.active_controls(db, 1101)] == [more.id]

    async def write() -> None:
        w = Writer(db)
        await w.start()
        for minute in (600, 601, 601):
            w.add_usage("2026-11-22", "a", "roblox", minute)
            w.add_usage("2026-11-23", "a", "roblox", minute)
        w.count_home_block("2026-11-23", "a", "category", "adult")
        w.count_home_block("2026-11-23", "a", "category", "adult")
        w.seen_device("192.168.1.5", 5000)
        await w.flush()
        w.add_usage("2026-11-23", "a", "roblox", 600)  # another worker counted the same minute
        await w.flush()
        removed = await w.home_maintenance("2026-11-23", "2026-11-01", 0)
        assert removed["usage_minutes_compacted"] == 2
        await w.close()

    asyncio.run(write())
    assert home_store.usage_minutes(db, "2026-11-22") == []  # past days keep only a count per day
    assert sorted(home_store.usage_minutes(db, "2026-11-23")) == [("a", "roblox", 600), ("a", "roblox", 601)]
    assert home_store.usage_by_day(db, "2026-11-20", "2026-11-23") == {
        ("2026-11-22", "a", "roblox"): 2, ("2026-11-23", "a", "roblox"): 2}
    assert home_store.blocks_by_day(db, "2026-11-23", "2026-11-23") == [("2026-11-23", "a", "category", "adult", 2)]
    assert home_store.seen_devices(db, 4000) == [("192.168.1.5", 5000)]
