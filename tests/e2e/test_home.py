"""The home gateway through the real proxy (`--profile home`), with a clock the test
controls (SCHOOLGATE_TEST_CLOCK): a child's device is blocked from games outside
their hours, allowed inside, cut off when the day's budget is used up, back after
midnight; pause and resume apply within seconds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from addons.core.settings import Settings
from addons.infra import home_store
from addons.infra.clock import ENV
from tests.conftest import proxy_args
from tests.e2e.test_proxy import curl
from tests.e2e.test_reload import wait_status
from tests.helpers.proxy import ProxyProcess

pytestmark = pytest.mark.e2e

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CHILD = "127.0.0.5"  # the child's tablet
OTHER = "127.0.0.6"  # a device that belongs to nobody
HOME = {"children": [{
    "id": "bong", "name": "Bống", "age": 9, "devices": [CHILD],
    "rules": {"games": {"limit": 60, "hours": [{"days": "daily", "from": "17:00", "to": "21:00"}]},
              "tiktok": "block"},
    "bedtime": [{"days": "daily", "from": "21:30", "to": "06:30"}],
}]}


def proxy_data(proxy: ProxyProcess) -> str:
    return next(a.split("=", 1)[1] for a in proxy.args if a.startswith("schoolgate_data_dir="))


class FakeClock:
    def __init__(self, path: Path):
        self.path = path

    def set(self, iso: str) -> float:
        ts = datetime.fromisoformat(iso).replace(tzinfo=TZ).timestamp()
        self.path.write_text(str(ts))
        return ts


@pytest.fixture
def home_proxy(upstream, settings: Settings, tmp_path: Path) -> Iterator[tuple[ProxyProcess, FakeClock, Path]]:  # type: ignore[no-untyped-def]
    clock = FakeClock(tmp_path / "clock")
    clock.set("2026-11-23T10:00")  # a Monday morning
    db = settings.db_path
    home_store.save_config(db, HOME, "parent", time.time())
    proc = ProxyProcess(proxy_args(settings, upstream) + ["--set", "schoolgate_profile=home"],
                        env={ENV: str(clock.path)}).start()
    try:
        yield proc, clock, db
    finally:
        if proc.stop() not in (0, None):
            print(proc.log)


def test_hours_budget_and_midnight(home_proxy) -> None:  # type: ignore[no-untyped-def]
    proxy, clock, db = home_proxy
    status, headers, body = curl(proxy.url, "http://www.roblox.com/", CHILD)
    assert (status, headers["x-schoolgate-reason"]) == (403, "schedule")  # outside the games' hours
    assert "17:00" in body.decode()  # the page says when it opens
    assert curl(proxy.url, "http://www.roblox.com/", OTHER)[0] == 200  # not the child's device
    assert curl(proxy.url, "http://www.tiktok.com/", CHILD)[1]["x-schoolgate-reason"] == "service"
    assert curl(proxy.url, "http://school.test/", CHILD)[0] == 200  # other sites open
    ca = Path(proxy_data(proxy)) / "ca" / "mitmproxy-ca-cert.pem"
    status, headers, body = curl(proxy.url, "https://www.tiktok.com/", CHILD, ca=ca)  # HTTPS, intercepted
    assert (status, headers["x-schoolgate-reason"]) == (403, "service") and "TikTok" in body.decode()

    # Inside the hours: one request a minute for 60 minutes uses the whole budget.
    for minute in range(60):
        clock.set(f"2026-11-23T17:{minute:02d}:10")
        host = "www.roblox.com" if minute % 2 else "www.minecraft.net"  # one budget for all games
        assert curl(proxy.url, f"http://{host}/", CHILD)[0] == 200, minute
        curl(proxy.url, f"http://{host}/again", CHILD)  # a second request in the same minute counts once
    clock.set("2026-11-23T18:00:10")
    # Each proxy worker counts its own minutes and reads the others' from the store
    # every second: the budget holds on every worker within a few seconds.
    deadline = time.monotonic() + 5
    while True:
        status, headers, body = curl(proxy.url, "http://www.roblox.com/", CHILD)
        if status == 403 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert (status, headers["x-schoolgate-reason"]) == (403, "budget")
    time.sleep(2.5)  # every worker has read the others' minutes by now
    for _ in range(6):  # and on every worker
        assert curl(proxy.url, "http://www.roblox.com/", CHILD)[0] == 403
    text = body.decode()
    assert "Hôm nay đã hết giờ" in text and "Time is up for today" in text and "00:00" in text
    assert curl(proxy.url, "http://www.youtube.com/", CHILD)[0] == 200  # no budget on video

    # The minutes are in the store, one row per minute (the writer batches every 0.1 s).
    deadline = time.monotonic() + 5
    while "youtube" not in {r[1] for r in home_store.usage_minutes(db, "2026-11-23")} \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    rows = home_store.usage_minutes(db, "2026-11-23")
    # 17:00-17:59; a worker that had not yet read the others' minutes may let 18:00 in too
    assert sum(1 for r in rows if r[1] in ("roblox", "minecraft") and r[2] < 18 * 60) == 60
    assert {r[1] for r in rows} == {"roblox", "minecraft", "youtube"}

    clock.set("2026-11-23T22:00")  # bedtime
    assert curl(proxy.url, "http://school.test/", CHILD)[1]["x-schoolgate-reason"] == "bedtime"
    clock.set("2026-11-24T17:05")  # the next day: the budget starts again
    assert curl(proxy.url, "http://www.roblox.com/", CHILD)[0] == 200


def settled(proxy_url: str, url: str, client: str, reason: str,
            seconds: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """The answer once every proxy worker has read the change (each reads every second)."""
    deadline = time.monotonic() + seconds
    while True:
        status, headers, body = curl(proxy_url, url, client)
        if headers.get("x-schoolgate-reason") == reason or time.monotonic() > deadline:
            return status, headers, body
        time.sleep(0.2)


def test_pause_and_resume_within_seconds(home_proxy) -> None:  # type: ignore[no-untyped-def]
    proxy, clock, db = home_proxy
    now = clock.set("2026-11-23T18:00")
    assert curl(proxy.url, "http://school.test/", CHILD)[0] == 200
    home_store.add_control(db, "pause", "bong", None, "parent", now)
    assert wait_status(proxy.url, "http://school.test/", CHILD, 403, deadline=5) < 3
    status, headers, body = settled(proxy.url, "http://school.test/", CHILD, "paused")
    assert headers["x-schoolgate-reason"] == "paused" and "Internet đang tạm dừng" in body.decode()
    assert curl(proxy.url, "http://school.test/", OTHER)[0] == 200
    home_store.end_controls(db, "pause", "bong", now)
    assert wait_status(proxy.url, "http://school.test/", CHILD, 200, deadline=5) < 3

    # The whole home, then "30 more minutes" at bedtime.
    home_store.add_control(db, "pause", "*", None, "parent", now)
    wait_status(proxy.url, "http://school.test/", CHILD, 403, deadline=5)
    home_store.end_controls(db, "pause", "*", now)
    wait_status(proxy.url, "http://school.test/", CHILD, 200, deadline=5)
    now = clock.set("2026-11-23T21:45")
    assert curl(proxy.url, "http://school.test/", CHILD)[0] == 403
    home_store.add_control(db, "extend", "bong", 30, "parent", now)
    wait_status(proxy.url, "http://school.test/", CHILD, 200, deadline=5)
    clock.set("2026-11-23T22:16")
    assert settled(proxy.url, "http://school.test/", CHILD, "bedtime")[1]["x-schoolgate-reason"] == "bedtime"


def test_a_broken_version_never_replaces_a_working_one(home_proxy) -> None:  # type: ignore[no-untyped-def]
    proxy, clock, db = home_proxy
    clock.set("2026-11-23T18:00")
    mark = len(proxy.lines)
    home_store.save_config(db, {"children": [{**HOME["children"][0], "rules": {"tiktk": "block"}}]}, "x", time.time())
    proxy.wait_for_log("refused", timeout=5, start=mark)
    assert curl(proxy.url, "http://www.tiktok.com/", CHILD)[1]["x-schoolgate-reason"] == "service"
