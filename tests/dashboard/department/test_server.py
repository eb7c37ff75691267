"""`schoolgate department register|disable|schools|publish|key` as department
staff use them (the server itself runs in tests/e2e/test_department.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from addons.infra import signing
from dashboard.department.server import main
from tests.helpers.trees import SHIPPED_BLOCKLISTS


@pytest.fixture
def args(tmp_path: Path) -> list[str]:
    return ["--set", f"schoolgate_data_dir={tmp_path / 'dept'}",
            "--set", f"schoolgate_blocklists_dir={SHIPPED_BLOCKLISTS}"]


def test_register_list_and_disable(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    _, public = signing.generate()
    assert main(["schools", *args]) == 0
    assert "No school registered yet" in capsys.readouterr().out
    reg = ["register", "79-TH-0001", "--name", "Tiểu học Lê Lợi", "--province", "TP Hồ Chí Minh",
           "--district", "Quận 1", "--levels", "primary", "--public-key", public, *args]
    assert main(reg) == 0
    assert "School 79-TH-0001 registered: Tiểu học Lê Lợi, Quận 1, TP Hồ Chí Minh" in capsys.readouterr().out
    assert main(reg) == 0
    assert "School 79-TH-0001 updated" in capsys.readouterr().out
    assert main(["schools", *args]) == 0
    out = capsys.readouterr().out
    assert "79-TH-0001" in out and "last never" in out and "not reporting" in out
    assert main(["schools", "--json", *args]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["id"] == "79-TH-0001" and row["province"] == "TP Hồ Chí Minh" and not row["disabled"]
    assert main(["disable", "79-TH-0001", *args]) == 0
    assert "refused until it is registered again" in capsys.readouterr().out
    assert main(["schools", *args]) == 0
    assert "disabled" in capsys.readouterr().out
    assert main(["disable", "nope", *args]) == 1
    assert "no school 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("change, message", [
    ({1: "trường 1"}, "'trường 1' is not a valid school id. Fix: use letters, digits"),
    ({9: "primary,college"}, "unknown level college. Fix: use preschool, primary"),
    ({11: "not-a-key"}, "the public key is not valid base64. Fix: paste the key `schoolgate export status`"),
])
def test_register_refuses_bad_input(args: list[str], capsys: pytest.CaptureFixture[str], change: dict[int, str],
                                    message: str) -> None:
    _, public = signing.generate()
    argv = ["register", "79-TH-0001", "--name", "TH", "--province", "HCM", "--district", "Q1",
            "--levels", "primary", "--public-key", public, *args]
    for i, value in change.items():
        argv[i] = value
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_key_and_publish(args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["key", *args]) == 0
    public = capsys.readouterr().out.strip()
    signing.check_public_key(public)
    assert main(["key", *args]) == 0
    assert capsys.readouterr().out.strip() == public  # the same key every time
    assert main(["publish", *args]) == 0
    out = capsys.readouterr().out
    assert "no baseline.yaml in the data directory" in out
    (tmp_path / "dept" / "baseline.yaml").write_text("version: '2026-12'\nlevels:\n  primary:\n    block: [adlut]\n")
    assert main(["publish", *args]) == 1
    err = capsys.readouterr().err
    assert "baseline.yaml:4: unknown category 'adlut'" in err and "the previous one stays" in err
    (tmp_path / "dept" / "baseline.yaml").write_text("version: '2026-12'\nlevels:\n  primary:\n    block: [adult]\n")
    assert main(["publish", *args]) == 0
    assert "published lists/baseline.yaml: version 2026-12" in capsys.readouterr().out
    body = (tmp_path / "dept" / "publish" / "baseline.yaml").read_bytes()
    signing.verify(body, (tmp_path / "dept" / "publish" / "baseline.yaml.sig").read_bytes(), public)


def test_unknown_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["key", "--set", "schoolgate_nope=1"]) == 2
    assert "unknown option 'schoolgate_nope'" in capsys.readouterr().err
