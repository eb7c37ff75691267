import os
from pathlib import Path

import pytest

from addons.infra.files import (
    FileTooLarge,
    atomic_write,
    display_path,
    read_capped,
    tree_signature,
    walk_files,
)


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    p = tmp_path / "sub" / "f.yaml"
    atomic_write(p, b"one")
    atomic_write(p, b"two")
    assert p.read_bytes() == b"two"
    assert [x.name for x in p.parent.iterdir()] == ["f.yaml"]


def test_read_capped(tmp_path: Path) -> None:
    p = tmp_path / "f"
    p.write_bytes(b"x" * 10)
    assert read_capped(p, 10) == b"x" * 10
    with pytest.raises(FileTooLarge):
        read_capped(p, 9)


def test_signature_changes_on_add_edit_remove(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("a")
    s1 = tree_signature([tmp_path])
    assert tree_signature([tmp_path]) == s1
    (tmp_path / "b.yaml").write_text("b")
    s2 = tree_signature([tmp_path])
    assert s2 != s1
    os.utime(tmp_path / "a.yaml", ns=(1, 1))
    assert tree_signature([tmp_path]) != s2
    (tmp_path / "b.yaml").unlink()
    assert tree_signature([tmp_path]) not in (s2,)


def test_walk_skips_hidden_and_editor_files(tmp_path: Path) -> None:
    for name in ("a.yaml", ".hidden", "b.yaml~", ".x.swp", "c.tmp"):
        (tmp_path / name).write_text("x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("x")
    assert [p.name for p in walk_files(tmp_path)] == ["a.yaml"]
    assert walk_files(tmp_path / "missing") == []


def test_display_path_is_relative_inside_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert display_path(tmp_path / "policies" / "a.yaml") == "policies/a.yaml"
    assert display_path(Path("/etc/passwd")) == "/etc/passwd"
