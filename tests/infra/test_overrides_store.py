from pathlib import Path

import pytest

from addons.infra.overrides_store import active, add, remove


def test_add_list_remove(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    assert active(db) == []
    o = add(db, "focus", "grade-7", ["https://vi.wikipedia.org/wiki/X", "OLM.vn"], 45, "cô Lan", "Sinh học", now=1000)
    assert o.domains == ("olm.vn", "vi.wikipedia.org") and o.ends == 1000 + 45 * 60
    assert active(db, now=1500) == [o]
    assert active(db, now=1000 + 45 * 60) == []  # expired by itself
    assert remove(db, o.id, now=1600) and active(db, now=1700) == []
    assert not remove(db, o.id, now=1700)


@pytest.mark.parametrize(
    "kind, sites, minutes, message",
    [("pause", ["a.test"], 10, "kind must be"), ("focus", [], 10, "at least one site"),
     ("unblock", ["a.test"], 0, "minutes must be between 1 and"), ("unblock", ["not a site!"], 10, "is not a site")],
)
def test_refused(tmp_path: Path, kind: str, sites: list[str], minutes: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        add(tmp_path / "s.db", kind, "grade-7", sites, minutes, "x")
