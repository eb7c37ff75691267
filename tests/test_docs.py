"""The docs cover what the code has: every setting, every reason code, every
database column (docs/privacy.md), both languages."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from addons.core.model import Reason
from addons.core.settings import SETTINGS
from addons.infra.store import migrate

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def documented_columns(text: str) -> dict[str, set[str]]:
    """`### Table `name`` sections and the backticked first cells of their tables."""
    out: dict[str, set[str]] = {}
    current = None
    for line in text.splitlines():
        m = re.match(r"^### Table `([a-z_]+)`", line)
        if m:
            current = m.group(1)
            out[current] = set()
            continue
        if line.startswith("## ") or line.startswith("---"):
            current = None
        if current and line.startswith("| `"):
            out[current].add(line.split("`")[1])
    return out


def test_privacy_doc_describes_every_database_column(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    migrate(db)
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        actual = {t: {r[1] for r in conn.execute(f"PRAGMA table_info({t})")} for t in tables}
    documented = documented_columns((DOCS / "privacy.md").read_text("utf-8"))
    for table, columns in actual.items():
        assert table in documented, f"docs/privacy.md does not describe table {table}"
        missing = columns - documented[table]
        assert not missing, f"docs/privacy.md does not describe {table}.{sorted(missing)}"
    assert set(documented) <= set(actual), "docs/privacy.md describes tables that do not exist"


def test_privacy_doc_is_bilingual() -> None:
    text = (DOCS / "privacy.md").read_text("utf-8")
    assert "## Quyền riêng tư" in text


@pytest.mark.parametrize("setting", [s.name for s in SETTINGS])
def test_every_setting_is_documented(setting: str) -> None:
    assert f"`{setting}`" in (DOCS / "settings.md").read_text("utf-8")


@pytest.mark.parametrize("reason", [r.value for r in Reason])
def test_every_reason_code_is_documented(reason: str) -> None:
    assert f"`{reason}`" in (DOCS / "policies.md").read_text("utf-8")


def test_every_metric_is_documented() -> None:
    from prometheus_client import generate_latest

    from addons.core.snapshot import Runtime
    from addons.metrics import Metrics

    text = generate_latest(Metrics(Runtime()).registry).decode()
    doc = (DOCS / "monitoring.md").read_text("utf-8")
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name = line.split()[2]
            assert f"`{name}`" in doc, f"docs/monitoring.md does not describe {name}"
