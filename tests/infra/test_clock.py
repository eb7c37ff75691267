from pathlib import Path

import pytest

from addons.infra.clock import ENV, Clock, from_env


def test_the_system_clock_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.delenv(ENV, raising=False)
    assert abs(from_env()() - time.time()) < 5


def test_a_test_clock_reads_its_file_each_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "clock"
    path.write_text("1000.5")
    monkeypatch.setenv(ENV, str(path))
    clock = from_env()
    assert clock() == 1000.5
    path.write_text("2000")
    assert clock() == 2000.0
    path.write_text("garbage")  # a half-written file keeps the last good time
    assert clock() == 2000.0
    assert Clock(str(tmp_path / "missing"))() > 1e9
