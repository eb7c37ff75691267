"""The incident store and the metrics through the real proxy: SIGTERM flushes,
kill -9 leaves an intact database, a real Prometheus scrapes the counters."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

from addons.core.settings import Settings
from tests.e2e.test_proxy import curl
from tests.helpers.upstream import free_port

pytestmark = pytest.mark.e2e


def incidents(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return int(conn.execute("SELECT count(*) FROM incidents").fetchone()[0])


def test_sigterm_writes_everything_queued(start_proxy, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    proxy = start_proxy(settings=replace(settings, incident_batch_seconds=60.0))
    for i in range(20):
        assert curl(proxy.url, f"http://bet.test/{i}", "127.0.0.7")[0] == 403
    assert proxy.stop() == 0
    assert incidents(settings.db_path) == 20


def test_kill_9_leaves_an_intact_database(start_proxy, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    proxy = start_proxy(settings=replace(settings, incident_batch_seconds=0.2))
    for i in range(15):
        curl(proxy.url, f"http://adult.test/{i}", "127.0.0.3")
    time.sleep(1.0)  # longer than the batch window
    assert proxy.proc is not None
    proxy.proc.send_signal(signal.SIGKILL)
    proxy.proc.wait(10)
    with sqlite3.connect(settings.db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert incidents(settings.db_path) == 15


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


def test_metrics_have_no_per_child_labels(start_proxy, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    proxy = start_proxy(settings=replace(settings, metrics_port=port))
    for i in range(30):
        curl(proxy.url, f"http://user{i}.bet.test/profile/{i}", "127.0.0.7")
        curl(proxy.url, f"http://page{i}.school.test/", "127.0.0.3")
    text = _get(f"http://127.0.0.1:{port}/metrics")
    series = [line for line in text.splitlines() if line.startswith("schoolgate_requests_total{")]
    assert len(series) == 2, series  # 60 requests to 60 hosts from 2 devices: two label sets
    assert "bet.test" not in text and "school.test" not in text and "127.0.0." not in text


def test_real_prometheus_counts_blocked_requests(start_proxy, settings: Settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert shutil.which("prometheus"), "Debian package prometheus is missing: run tests/system-deps.sh as root"
    port = free_port()
    proxy = start_proxy(settings=replace(settings, metrics_port=port))
    for i in range(7):
        assert curl(proxy.url, f"http://bet.test/{i}", "127.0.0.7")[0] == 403
    prom_port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: schoolgate\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
    )
    prom = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{prom_port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        query = urllib.parse.quote('sum(schoolgate_requests_total{action="block",reason="category"})')
        deadline = time.monotonic() + 45
        value = None
        while time.monotonic() < deadline:
            try:
                data = json.loads(_get(f"http://127.0.0.1:{prom_port}/api/v1/query?query={query}"))
                result = data["data"]["result"]
                if result:
                    value = float(result[0]["value"][1])
                    if value >= 7:
                        break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.5)
        assert value == 7.0
        up = json.loads(_get(f"http://127.0.0.1:{prom_port}/api/v1/query?query=up"))
        assert up["data"]["result"][0]["value"][1] == "1"
    finally:
        prom.terminate()
        prom.wait(10)
        if prom.stderr:
            prom.stderr.close()
