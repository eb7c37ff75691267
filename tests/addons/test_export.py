"""The Exporter addon inside the proxy: queues each period's export with the
running policy's figures, and keeps everything while the department is down."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sqlite3
from dataclasses import replace

import pytest

from addons import export as export_addon
from addons.core.settings import Settings
from addons.core.snapshot import Runtime
from addons.export import Exporter
from addons.infra.loader import ensure_data_dir, load_snapshot


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def runtime(settings: Settings) -> Runtime:
    rt = Runtime()
    rt.settings = replace(settings, department_url=f"https://127.0.0.1:{closed_port()}",
                          school_id="79-TH-0001")
    ensure_data_dir(rt.settings)
    rt.snapshot = load_snapshot(rt.settings).snapshot
    return rt


def test_a_cycle_queues_with_the_running_policy_and_keeps_it_while_down(
        runtime: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    exporter = Exporter(runtime)
    caplog.set_level(logging.INFO)
    result = exporter.cycle(now=1_764_000_600.0)
    assert result is not None and result.unreachable and exporter.depth == 1
    with sqlite3.connect(runtime.settings.db_path) as conn:
        [(body,)] = conn.execute("SELECT body FROM outbox").fetchall()
    sent = json.loads(body)
    assert sent["policy_version"] == runtime.snapshot.version and sent["school_id"] == "79-TH-0001"
    assert {row["category"] for row in sent["lists"]} >= {"adult", "gambling"}
    assert "The department is unreachable" in caplog.text
    caplog.clear()
    exporter.cycle(now=1_764_000_600.0 + 7200 + 120)  # two hours later: still down, said only once
    assert exporter.depth == 3 and "unreachable" not in caplog.text


def test_nothing_happens_without_a_department(settings: Settings) -> None:
    rt = Runtime()
    rt.settings = settings
    ensure_data_dir(settings)
    exporter = Exporter(rt)
    assert exporter.cycle() is None and exporter.depth == 0


async def test_running_starts_the_loop_and_reports_the_depth(runtime: Runtime,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export_addon, "CYCLE_SECONDS", 0.05)
    exporter = Exporter(runtime)
    exporter.running()
    try:
        for _ in range(200):
            if runtime.stats.gauges["export_outbox_depth"]() >= 1:
                break
            await asyncio.sleep(0.05)
        assert runtime.stats.gauges["export_outbox_depth"]() == 1
        assert runtime.stats.gauges["export_last_delivered"]() == 0
    finally:
        await exporter.done()
