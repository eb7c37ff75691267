from pathlib import Path

from addons.infra import signins


def test_sign_ins_are_shared_through_the_store_and_expire(tmp_path: Path) -> None:
    db = tmp_path / "schoolgate.db"
    assert signins.active(db) == {}
    signins.add(db, "10.0.0.5", "staff", 2_000, now=1_000)
    signins.add(db, "10.0.0.6", "staff", 1_500, now=1_000)
    assert signins.active(db, now=1_200) == {"10.0.0.5": ("staff", 2_000.0), "10.0.0.6": ("staff", 1_500.0)}
    assert signins.active(db, now=1_600) == {"10.0.0.5": ("staff", 2_000.0)}
    signins.remove(db, "10.0.0.5", now=1_600)  # sign-out; the expired row goes too
    assert signins.active(db, now=1_000) == {}
