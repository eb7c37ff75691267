"""`schoolgate selftest` against the running proxy, and the report that includes it."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from addons.core.settings import Settings
from tests.helpers.proxy import run_cli

pytestmark = pytest.mark.e2e


def cli_sets(settings: Settings) -> list[str]:
    return ["--set", f"schoolgate_policies_dir={settings.policies_dir}",
            "--set", f"schoolgate_blocklists_dir={settings.blocklists_dir}",
            "--set", f"schoolgate_data_dir={settings.data_dir}"]


def test_selftest_passes_and_is_in_the_report(start_proxy, settings: Settings, upstream) -> None:  # type: ignore[no-untyped-def]
    proxy = start_proxy()
    out = run_cli("selftest", "--grade", "7", "--proxy-port", str(proxy.port), *cli_sets(settings))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "category:gambling" in out.stdout and "FAIL" not in out.stdout
    assert not [s for s in upstream.seen if "selftest" in s[1]]  # probes never went upstream
    out = run_cli("selftest", "--proxy-port", str(proxy.port), *cli_sets(settings))
    assert out.returncode == 0, out.stdout
    assert "grade-12" in out.stdout and "preschool" in out.stdout and "staff" in out.stdout
    report = run_cli("report", "--format", "html", "--lang", "vi", *cli_sets(settings))
    assert report.returncode == 0
    assert "Kiểm tra bộ lọc" in report.stdout and "grade-7" in report.stdout
    # Selftest probes are not children's traffic: nothing counted, nothing logged.
    text = run_cli("report", "--format", "json", *cli_sets(settings)).stdout
    assert '"total_blocked": 0' in text


def test_selftest_fails_when_the_proxy_does_not_block(start_proxy, settings: Settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty-lists"
    empty.mkdir()
    shutil.copy(Path(settings.blocklists_dir) / "categories.yaml", empty / "categories.yaml")
    (empty / "unused.txt").write_text("")
    proxy = start_proxy(settings=replace(settings, blocklists_dir=str(empty)))
    out = run_cli("selftest", "--grade", "3", "--proxy-port", str(proxy.port), *cli_sets(settings))
    assert out.returncode == 1
    assert "FAIL" in out.stdout and "category:gambling" in out.stdout


def test_selftest_without_a_proxy_says_so(settings: Settings) -> None:
    from tests.helpers.upstream import free_port

    out = run_cli("selftest", "--grade", "3", "--proxy-port", str(free_port()), *cli_sets(settings))
    assert out.returncode == 1 and "did not answer (results not stored)" in out.stdout
