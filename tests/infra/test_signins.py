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


def test_failed_sign_ins_are_counted_per_device_over_a_window(tmp_path: Path) -> None:
    from addons.infra.signins import FAILURE_WINDOW, FAILURES_ALLOWED, clear_failures, record_failure, too_many_failures

    db = tmp_path / "schoolgate.db"
    assert not too_many_failures(db, "10.0.0.5", 1000.0)  # no store yet
    for i in range(FAILURES_ALLOWED - 1):
        record_failure(db, "10.0.0.5", 1000.0 + i)
    assert not too_many_failures(db, "10.0.0.5", 1010.0)
    record_failure(db, "10.0.0.5", 1010.0)
    assert too_many_failures(db, "10.0.0.5", 1011.0)
    assert not too_many_failures(db, "10.0.0.6", 1011.0)  # another device
    assert not too_many_failures(db, "10.0.0.5", 1000.0 + FAILURE_WINDOW + 1)  # the oldest have expired
    clear_failures(db, "10.0.0.5")  # a successful sign-in
    assert not too_many_failures(db, "10.0.0.5", 1011.0)
