import stat
from pathlib import Path

from addons.infra.keys import KEY_FILE, load_or_rotate


def test_key_is_created_private_and_rotated(tmp_path: Path) -> None:
    p1 = load_or_rotate(tmp_path, 7, now=1_000_000)
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    same = load_or_rotate(tmp_path, 7, now=1_000_000 + 6 * 86400)
    assert same("10.0.0.1") == p1("10.0.0.1")
    rotated = load_or_rotate(tmp_path, 7, now=1_000_000 + 8 * 86400)
    assert rotated("10.0.0.1").split(":")[1] != p1("10.0.0.1").split(":")[1]


def test_corrupt_key_is_replaced(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE).write_text("not json")
    assert load_or_rotate(tmp_path, 7)("10.0.0.1")
