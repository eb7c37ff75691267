from pathlib import Path

from addons.infra import bypass


def test_a_bypass_is_shared_and_expires(tmp_path: Path) -> None:
    db = tmp_path / "schoolgate.db"
    assert bypass.allowed(db, "k1", now=1000.0) == 0.0  # no store yet
    bypass.allow(db, "k1", until=1600.0, now=1000.0)
    assert bypass.allowed(db, "k1", now=1599.0) == 1600.0
    assert bypass.allowed(db, "k1", now=1600.0) == 0.0  # expired
    assert bypass.allowed(db, "k2", now=1000.0) == 0.0
    bypass.allow(db, "k2", until=2300.0, now=1700.0)  # removes the expired k1 row
    import sqlite3

    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT key FROM personal_info_bypass").fetchall() == [("k2",)]
