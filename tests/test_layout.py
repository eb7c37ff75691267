"""The architecture rules, checked on the source (see ../shared/STYLE.md):
a pure core, thin addons that never import each other, a test file per module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOT_ADDONS = {"__init__", "cli", "runner", "schoolgate", "flowutil"}  # entry points, runner, flow helpers
ADDON_MODULES = sorted(p.stem for p in (ROOT / "addons").glob("*.py") if p.stem not in NOT_ADDONS)
STDLIB_BANNED_IN_CORE = {"asyncio", "socket", "subprocess", "sqlite3", "threading", "mmap", "urllib.request"}
# Pure computation only: parsing, hashing, matching, and decompression (brotli and
# zstd decode bodies in core.bodies; both are mitmproxy dependencies).
THIRD_PARTY_IN_CORE = {"yaml", "tldextract", "idna", "xxhash", "ahocorasick", "hyperscan", "numpy",
                       "brotli", "backports", "compression"}


def imports(path: Path) -> set[str]:
    """Absolute module names imported by a file (relative imports resolved)."""
    tree = ast.parse(path.read_text("utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
    return out


def files(*parts: str) -> list[Path]:
    return sorted(p for p in ROOT.joinpath(*parts).glob("*.py"))


@pytest.mark.parametrize("path", files("addons", "core"), ids=lambda p: p.name)
def test_core_is_pure(path: Path) -> None:
    for name in imports(path):
        top = name.split(".")[0]
        if top == "addons":
            assert name.startswith("addons.core"), f"{path.name} imports {name}"
        elif top in STDLIB_BANNED_IN_CORE or name in STDLIB_BANNED_IN_CORE:
            pytest.fail(f"{path.name} imports {name}: the core does no I/O or asyncio")
        else:
            import sys

            assert top in sys.stdlib_module_names or top in THIRD_PARTY_IN_CORE or top == "__future__", (
                f"{path.name} imports {name}: the core may use only the stdlib and pure-computation libraries: "
                f"{sorted(THIRD_PARTY_IN_CORE)}")


@pytest.mark.parametrize("path", files("addons", "infra"), ids=lambda p: p.name)
def test_infra_imports_only_core(path: Path) -> None:
    for name in imports(path):
        top = name.split(".")[0]
        assert top not in ("mitmproxy", "dashboard", "prometheus_client"), f"{path.name} imports {name}"
        if top == "addons":
            assert name.startswith(("addons.core", "addons.infra")), f"{path.name} imports {name}"


@pytest.mark.parametrize("name", ADDON_MODULES)
def test_addons_never_import_each_other(name: str) -> None:
    for imported in imports(ROOT / "addons" / f"{name}.py"):
        parts = imported.split(".")
        if parts[0] == "addons" and len(parts) > 1:
            assert parts[1] in ("core", "infra", "flowutil"), f"addons/{name}.py imports {imported}"
        assert parts[0] != "dashboard"


def test_nothing_imports_the_dashboard_and_it_imports_no_proxy_code() -> None:
    for path in ROOT.joinpath("addons").rglob("*.py"):
        assert not any(i.split(".")[0] == "dashboard" for i in imports(path)), path
    for path in ROOT.joinpath("dashboard").rglob("*.py"):
        for name in imports(path):
            assert name.split(".")[0] != "mitmproxy", path
            if name.startswith("addons."):
                assert name.startswith(("addons.core", "addons.infra")), f"{path} imports {name}"


def _sources() -> list[Path]:
    out = []
    for top in ("addons", "dashboard"):
        out += [p for p in ROOT.joinpath(top).rglob("*.py") if p.name != "__init__.py" and p.name != "__main__.py"]
    return sorted(out)


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_has_a_test_file(path: Path) -> None:
    rel = path.relative_to(ROOT)
    if rel.parts[0] == "addons":
        sub = rel.parts[1:-1] or ("addons",)
    else:
        sub = ("dashboard",) + rel.parts[1:-1]
    expected = ROOT.joinpath("tests", *sub, f"test_{path.name}")
    assert expected.exists(), f"{rel} has no {expected.relative_to(ROOT)}"


def test_top_level_layout_is_fixed() -> None:
    allowed = {"addons", "policies", "blocklists", "dashboard", "deploy", "tests", "pyproject.toml",
               "README.md", "Makefile", "CHANGELOG.md", "docs", "bench", ".ci", ".gitignore", ".git",
               ".venv", ".pytest_cache", ".ruff_cache", ".mypy_cache", "schoolgate.egg-info", "build",
               "test-artifacts", "schoolgate.yaml"}
    extra = {p.name for p in ROOT.iterdir()} - allowed
    assert not extra, f"unexpected top-level entries: {sorted(extra)}"


def test_banned_calls_are_absent() -> None:
    """asyncio.create_task (use infra.tasks.spawn), module-level tldextract.extract, yaml.load."""
    for path in ROOT.joinpath("addons").rglob("*.py"):
        text = path.read_text("utf-8")
        if path.name != "tasks.py":
            assert "create_task(" not in text, f"{path}: use addons.infra.tasks.spawn"
        assert "tldextract.extract(" not in text, path
        assert "yaml.load(" not in text and "yaml.safe_load(" not in text, path
