"""The department's pages: totals and trends by area, level and category,
schools that stopped reporting, the yearly report (Vietnamese, printable, CSV);
each page checks the role; nothing about a child appears."""

from __future__ import annotations

import time
from datetime import date, timedelta

from dashboard.department.views import school_year
from tests.dashboard.department.conftest import Dept, at, make_export


def fill(dept: Dept) -> None:
    s = dept.store
    s.register("79-TH-0001", "TH Lê Lợi", "TP Hồ Chí Minh", "Quận 1", ["primary"], "k1")
    s.register("01-THCS-0001", "THCS Chu Văn An", "Hà Nội", "Ba Đình", ["lower-secondary"], "k3")
    s.register("01-THCS-0002", "THCS Im Lặng", "Hà Nội", "Ba Đình", ["lower-secondary"], "k4")
    today = date.fromtimestamp(time.time())
    day = at(f"{today.isoformat()}T09:00") - 3 * 86_400  # Lê Lợi last reported three days ago
    s.ingest(s.school("79-TH-0001"), make_export(
        "79-TH-0001", day, [("primary", "games", "block", 40), ("primary", "adult", "block", 9),
                            ("primary", "", "allow", 900)],
        lists=[("blocklists/adult/domains", "adult", 5000, int(time.time()) - 3600)], baseline_version="2026-12"),
        int(time.time()))
    recent = int(time.time()) // 3600 * 3600 - 3600
    s.ingest(s.school("01-THCS-0001"), make_export(
        "01-THCS-0001", recent, [("lower-secondary", "social_networks", "block", 30)],
        lists=[("blocklists/adult/domains", "adult", 5000, int(time.time()) - 30 * 86_400)]), int(time.time()))
    s.ingest(s.school("79-TH-0001"), make_export("79-TH-0001", day + 14 * 3600, day=(today - timedelta(days=3))
                                                 .isoformat(), alerts=[("self_harm", 5)], reviews=[("approved", 6)],
                                                 baseline_version="2026-12",
                                                 lists=[("blocklists/adult/domains", "adult", 5000,
                                                         int(time.time()) - 3600)]),
             int(time.time()))


def test_overview_by_area_level_and_category(dept: Dept) -> None:
    fill(dept)
    c = dept.client("viewer")
    page = c.get("/").text
    assert "Tổng quan các trường" in page and "TP Hồ Chí Minh" in page and "Hà Nội" in page
    assert "Trò chơi" in page or "games" in page
    data = c.get("/?format=json").json()
    assert data["summary"]["schools"] == 3 and data["summary"]["blocked"] == 89
    assert data["summary"]["not_reporting"] == 2  # THCS Im Lặng never reported; Lê Lợi's last export is old
    assert data["summary"]["stale_lists"] == 2  # Chu Văn An's lists are 30 days old; Im Lặng has none
    assert {x["category"]: x["block"] for x in data["categories"]}["social_networks"] == 30
    hanoi = c.get("/?format=json&province=Hà Nội").json()
    assert hanoi["summary"]["blocked"] == 30 and hanoi["summary"]["schools"] == 2
    primary = c.get("/?format=json&level=primary").json()
    assert primary["summary"]["blocked"] == 59
    district = c.get("/?format=json&province=TP Hồ Chí Minh&district=Quận 1").json()
    assert district["summary"]["blocked"] == 59
    assert data["baselines"] == {"2026-12": 1, "": 1}
    english = c.get("/?lang=en").text
    assert "Overview of the schools" in english and "Stopped reporting" in english


def test_schools_page_lists_problems(dept: Dept) -> None:
    fill(dept)
    c = dept.client("viewer")
    rows = c.get("/schools?format=json&only=problems").json()["schools"]
    assert sorted(r["id"] for r in rows) == ["01-THCS-0001", "01-THCS-0002", "79-TH-0001"]
    page = c.get("/schools").text
    assert "THCS Im Lặng" in page and "Ngừng gửi số liệu" in page and "Danh sách chặn cũ" in page


def test_yearly_report_printable_in_vietnamese_and_csv(dept: Dept) -> None:
    fill(dept)
    c = dept.client("viewer")
    start, end = school_year(date.today())
    page = c.get("/yearly").text
    assert "Báo cáo năm về bảo vệ trẻ em trên môi trường mạng" in page
    assert f"{start.strftime('%d/%m/%Y')} đến {end.strftime('%d/%m/%Y')}" in page
    assert "Người lập báo cáo" in page and "@media print" not in page  # print styles live in the stylesheet
    csv_text = c.get("/yearly?format=csv").text
    assert csv_text.startswith("\ufeffsection,key,blocked,allowed")
    assert "by_province,Hà Nội,30,0" in csv_text and "alerts,self_harm,5" in csv_text
    assert "schools,registered,3" in csv_text
    assert "Yearly report on children" in c.get("/yearly?lang=en").text


def test_school_year_is_december_to_november() -> None:
    assert school_year(date(2026, 11, 25)) == (date(2025, 12, 1), date(2026, 11, 30))
    assert school_year(date(2026, 12, 5)) == (date(2025, 12, 1), date(2026, 11, 30))
    assert school_year(date(2027, 1, 10)) == (date(2026, 12, 1), date(2027, 11, 30))


def test_roles(dept: Dept) -> None:
    fill(dept)
    anonymous = dept.client()
    for path in ("/", "/schools", "/yearly", "/authority"):
        assert anonymous.get(path).status_code == 303  # to the sign-in page
    teacher = dept.client("teacher")
    assert teacher.get("/").status_code == 403
    viewer = dept.client("viewer")
    assert viewer.get("/authority").status_code == 403
    assert dept.client("admin").get("/authority").status_code == 200


def test_no_child_data_in_any_page(dept: Dept) -> None:
    fill(dept)
    c = dept.client("admin")
    for path in ("/", "/schools", "/yearly", "/yearly?format=csv", "/?format=json", "/schools?format=json"):
        text = c.get(path).text
        for forbidden in ("127.0.0", "client_ref", "grade-7"):
            assert forbidden not in text, (path, forbidden)


def test_health(dept: Dept) -> None:
    r = dept.client().get("/-/health")
    assert r.status_code == 200 and r.json()["ok"] is True
