"""`schoolgate run --workers 2`: two real proxy processes on one port (SO_REUSEPORT).
Both serve, every incident reaches the one writer, /metrics adds both up, a staff
sign-in and a personal-information confirmation hold on either worker, a killed
worker is started again, and a second proxy cannot silently share the port."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

from addons.core.settings import Settings
from addons.infra import accounts
from tests.e2e.test_proxy import curl
from tests.helpers.proxy import SCHOOLGATE
from tests.helpers.upstream import free_port

pytestmark = pytest.mark.e2e


def metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def value(text: str, pattern: str) -> float:
    return sum(float(m.group(1)) for m in re.finditer(pattern + r" ([0-9.e+]+)$", text, re.M))


def followers(leader: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(leader), "-f", "addons.cli"], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def wait_until(check, timeout: float = 15.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_two_workers_share_the_port_the_writer_and_the_metrics(start_proxy, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    mport = free_port()
    proxy = start_proxy("--workers", "2", settings=replace(settings, metrics_port=mport, incident_batch_seconds=30))
    assert "2 proxy worker processes share this address" in proxy.wait_for_log("proxy worker processes share")
    proxy.wait_for_log("Proxy worker 2 of 2 serving")
    assert proxy.proc is not None and len(followers(proxy.proc.pid)) == 1
    for i in range(40):  # a new connection each time: the kernel picks the worker
        assert curl(proxy.url, f"http://bet.test/{i}", "127.0.0.7")[0] == 403
    text = wait_until(lambda: (t := metrics(mport)) and "schoolgate_worker_requests_total" in t and t)
    assert value(text, r'schoolgate_requests_total\{action="block",category="gambling"[^}]*\}') == 40
    per_worker = [float(v) for v in re.findall(r'schoolgate_worker_requests_total\{worker="\d"\} (\S+)', text)]
    assert len(per_worker) == 2 and sum(per_worker) == 40 and min(per_worker) > 0
    assert value(text, "schoolgate_workers") == 2
    assert 'worker="' not in text.replace("schoolgate_worker_requests_total{worker=", "")  # no other per-worker series
    # The batch window is 30 s: SIGTERM makes the follower hand its incidents over first.
    assert proxy.stop() == 0
    assert proxy.leftover == []  # the other worker (and the dashboard) stopped with the leader
    with sqlite3.connect(settings.db_path) as conn:
        assert conn.execute("SELECT count(*) FROM incidents WHERE reason = 'category'").fetchone()[0] == 40


def test_sign_in_and_confirmation_hold_on_every_worker(start_proxy, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    accounts.add_user(settings.db_path, "co-lan", "a long password", "teacher", ["grade-7"])
    proxy = start_proxy("--workers", "2")
    proxy.wait_for_log("Proxy worker 2 of 2 serving")
    status, _, _ = curl(proxy.url, "http://schoolgate.local/signin", "127.0.0.7",
                        "--data", "name=co-lan&password=a+long+password")
    assert status == 200
    time.sleep(1.5)  # the other worker reads sign-ins every second
    assert {curl(proxy.url, f"http://bet.test/{i}", "127.0.0.7")[0] for i in range(12)} == {200}
    assert {curl(proxy.url, f"http://bet.test/{i}", "127.0.0.8")[0] for i in range(4)} == {403}


def test_a_killed_worker_is_started_again(start_proxy, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    proxy = start_proxy("--workers", "2")
    proxy.wait_for_log("Proxy worker 2 of 2 serving")
    assert proxy.proc is not None
    first = followers(proxy.proc.pid)
    os.kill(first[0], signal.SIGKILL)
    proxy.wait_for_log("Proxy worker 1 stopped")
    start = len(proxy.lines)
    proxy.wait_for_log("Proxy worker 2 of 2 serving", timeout=20, start=start)
    again = followers(proxy.proc.pid)
    assert len(again) == 1 and again != first
    assert {curl(proxy.url, f"http://bet.test/{i}", "127.0.0.7")[0] for i in range(10)} == {403}


def test_a_second_proxy_cannot_share_the_port(start_proxy, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    proxy = start_proxy("--workers", "2")
    other = Path(settings.data_dir).parent / "other"
    out = subprocess.run(SCHOOLGATE + ["run", "--workers", "2", "--set", f"listen_port={proxy.port}",
                                       "--set", f"schoolgate_data_dir={other}", "--set", "schoolgate_dashboard_port=0",
                                       "--set", "schoolgate_metrics_port=0"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert f"cannot listen on 127.0.0.1:{proxy.port}: another program is listening on it" in out.stdout


def test_workers_out_of_range_are_refused() -> None:
    out = subprocess.run(SCHOOLGATE + ["run", "--workers", "-1"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--workers -1" in out.stderr
