"""The parent's pages in-process: first run from nothing to a protected child, then
pause, resume, 30 more minutes, today's use and the weekly summary."""

from __future__ import annotations

import time
from dataclasses import replace
import sqlite3
from datetime import datetime

import pytest
from starlette.testclient import TestClient

from addons.core.settings import Settings
from addons.infra import home_store
from dashboard.app import create_app
from tests.dashboard.conftest import SAME_ORIGIN

PASSWORD = "our family password"


@pytest.fixture
def client(settings: Settings) -> TestClient:
    settings = replace(settings, profile="home")
    settings.data_path.mkdir(parents=True, exist_ok=True)
    c = TestClient(create_app(settings), base_url="http://gateway.test", follow_redirects=False)
    c.headers.update(SAME_ORIGIN)
    return c


def setup_child(client: TestClient) -> str:
    assert client.get("/").headers["location"] == "/family/setup"
    page = client.get("/family/setup")
    assert "Cài đặt Internet cho gia đình" in page.text and "Bước 1/4" in page.text
    assert client.post("/family/setup", data={"password": PASSWORD, "password2": "other"}).status_code == 400
    r = client.post("/family/setup", data={"password": PASSWORD, "password2": PASSWORD})
    assert r.headers["location"] == "/family/child/new?setup=1"
    r = client.post("/family/child/new", data={"name": "Bống", "age": "9", "setup": "1"})
    assert r.headers["location"] == "/family/child/child1/devices?setup=1"
    r = client.post("/family/child/child1/devices", data={"typed": "192.168.1.23", "setup": "1"})
    assert r.headers["location"] == "/family/child/child1/rules?setup=1"
    rules = client.get("/family/child/child1/rules?setup=1").text
    assert "Liên Quân Mobile" in rules and 'value="21:30"' in rules  # the starter bedtime
    r = client.post("/family/child/child1/rules", data={
        "setup": "1", "svc_tiktok": "block", "svc_youtube": "limit", "min_youtube": "45", "grp_games": "60",
        "grpfrom_games": "17:00", "grpto_games": "20:00", "bed_days": "sun-thu", "bed_from": "21:30",
        "bed_to": "06:30", "hw_days": "mon-fri", "hw_from": "19:00", "hw_to": "20:00"})
    assert r.headers["location"] == "/family?done=child1"
    return "child1"


def test_first_run_to_a_protected_child(client: TestClient, settings: Settings) -> None:
    setup_child(client)
    page = client.get("/family?done=child1").text
    assert "Bống đã được bảo vệ" in page
    _, data = home_store.latest_config(settings.db_path)  # type: ignore[misc]
    [child] = data["children"]
    assert child["devices"] == ["192.168.1.23"] and child["age"] == 9
    assert child["rules"] == {"tiktok": "block", "youtube": {"limit": 45},
                              "games": {"limit": 60, "hours": [{"days": "daily", "from": "17:00", "to": "20:00"}]}}
    assert child["bedtime"] == [{"days": "sun-thu", "from": "21:30", "to": "06:30"}]
    assert client.get("/family/setup").headers["location"] == "/family"  # only once
    assert client.post("/family/setup", data={"password": "x" * 12, "password2": "x" * 12}).status_code == 404


def test_a_broken_edit_is_refused_and_the_last_good_one_stays(client: TestClient, settings: Settings) -> None:
    setup_child(client)
    r = client.post("/family/child/child1/rules", data={"bed_days": "daily", "bed_from": "25:00", "bed_to": "06:00"})
    assert r.status_code == 400 and "25:00" in r.text
    r = client.post("/family/child/child1/devices", data={"typed": "my phone"})
    assert r.status_code == 400 and "not a device address" in r.text
    _, data = home_store.latest_config(settings.db_path)  # type: ignore[misc]
    assert data["children"][0]["bedtime"][0]["from"] == "21:30"


def test_pause_resume_more_time_and_summary(client: TestClient, settings: Settings) -> None:
    setup_child(client)
    db = settings.db_path
    assert client.post("/family/child/child1/pause").status_code == 303
    assert [c.kind for c in home_store.active_controls(db, time.time())] == ["pause"]
    assert "Đang tạm dừng" in client.get("/family").text
    client.post("/family/child/child1/resume")
    assert home_store.active_controls(db, time.time()) == []
    client.post("/family/pause")
    assert [c.child for c in home_store.active_controls(db, time.time())] == ["*"]
    assert "Bật lại Internet cho tất cả các con" in client.get("/family").text
    client.post("/family/resume")
    client.post("/family/child/child1/extend")
    [more] = home_store.active_controls(db, time.time())
    assert more.kind == "extend" and more.ends - more.starts == 1800
    assert client.post("/family/child/nobody/pause").status_code == 404

    today = datetime.now(settings.zone).date().isoformat()  # the proxy writes these rows; simulate them
    with sqlite3.connect(db) as conn:
        conn.executemany("INSERT INTO home_usage VALUES (?, 'child1', 'roblox', ?)", [(today, m) for m in range(25)])
        conn.execute("INSERT INTO home_blocks VALUES (?, 'child1', 'category', 'adult', 3)", (today,))
    page = client.get("/family").text
    assert "Roblox: 25 phút" in page and "25/60 phút" in page
    summary = client.get("/family/summary?lang=en").text
    assert "Roblox" in summary and "25 min" in summary and "Adult content" in summary and "no history" in summary
    csv = client.get("/family/summary?format=csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert f"{today},Bống,minutes,roblox,25" in csv.text and "blocked,category:adult,3" in csv.text


def test_parent_pages_need_the_parent(client: TestClient) -> None:
    setup_child(client)
    other = TestClient(client.app, base_url="http://gateway.test", follow_redirects=False)
    other.headers.update(SAME_ORIGIN)
    assert other.get("/family").status_code == 303  # to the login page
    assert other.post("/family/pause").status_code == 303
    cross = TestClient(client.app, base_url="http://gateway.test", follow_redirects=False)
    cross.cookies = client.cookies
    cross.headers.update({"Sec-Fetch-Site": "cross-site"})
    assert cross.post("/family/pause").status_code == 403  # CSRF
