"""The department's pages: totals and trends by area, level and category,
schools that stopped reporting, the yearly report (Vietnamese, printable, CSV);
each page checks the role; nothing about a child appears."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from dashboard.department.views import reporting_year_of, school_year
from tests.dashboard.department.conftest import VN, Dept, at, make_export

# Dates where a date-sensitive report is most likely to go wrong: the first day of a
# reporting year, the last minute of a calendar year, New Year, a leap day, Tết, and
# 23:59 local time (still today in Hanoi, already past 16:59 UTC).
EDGE_DATES = ["2026-12-01T00:05", "2026-12-04T20:43", "2026-12-31T23:59", "2027-01-01T00:00",
              "2028-02-29T12:00", "2027-02-06T09:00", "2026-11-30T23:59", "2026-06-15T23:59"]


def today_of(dept: Dept) -> date:
    return datetime.fromtimestamp(dept.now, VN).date()


def fill(dept: Dept) -> None:
    s = dept.store
    s.register("79-TH-0001", "TH Lê Lợi", "TP Hồ Chí Minh", "Quận 1", ["primary"], "k1")
    s.register("01-THCS-0001", "THCS Chu Văn An", "Hà Nội", "Ba Đình", ["lower-secondary"], "k3")
    s.register("01-THCS-0002", "THCS Im Lặng", "Hà Nội", "Ba Đình", ["lower-secondary"], "k4")
    now = dept.now
    today = today_of(dept)
    day = at(f"{today.isoformat()}T09:00") - 3 * 86_400  # Lê Lợi last reported three days ago
    s.ingest(s.school("79-TH-0001"), make_export(
        "79-TH-0001", day, [("primary", "games", "block", 40), ("primary", "adult", "block", 9),
                            ("primary", "", "allow", 900)],
        lists=[("blocklists/adult/domains", "adult", 5000, now - 3600)], baseline_version="2026-12"), now)
    recent = now // 3600 * 3600 - 3600
    s.ingest(s.school("01-THCS-0001"), make_export(
        "01-THCS-0001", recent, [("lower-secondary", "social_networks", "block", 30)],
        lists=[("blocklists/adult/domains", "adult", 5000, now - 30 * 86_400)]), now)
    s.ingest(s.school("79-TH-0001"), make_export("79-TH-0001", day + 14 * 3600, day=(today - timedelta(days=3))
                                                 .isoformat(), alerts=[("self_harm", 5)], reviews=[("approved", 6)],
                                                 baseline_version="2026-12",
                                                 lists=[("blocklists/adult/domains", "adult", 5000,
                                                         now - 3600)]),
             now)


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


@pytest.mark.parametrize("now", EDGE_DATES, indirect=True)
def test_yearly_report_printable_in_vietnamese_and_csv(dept: Dept) -> None:
    fill(dept)
    c = dept.client("viewer")
    today = today_of(dept)
    start, end = school_year(today)
    page = c.get("/yearly").text
    assert "Báo cáo năm về bảo vệ trẻ em trên môi trường mạng" in page
    assert f"{start.strftime('%d/%m/%Y')} đến {end.strftime('%d/%m/%Y')}" in page
    assert "Người lập báo cáo" in page and "@media print" not in page  # print styles live in the stylesheet
    # A period that holds all the data (three days ago to today), whichever reporting year that is.
    since = (today - timedelta(days=3)).isoformat()
    csv_text = c.get(f"/yearly?format=csv&from={since}&to={today.isoformat()}").text
    assert csv_text.startswith("\ufeffsection,key,blocked,allowed")
    assert "by_province,Hà Nội,30,0" in csv_text and "alerts,self_harm,5" in csv_text
    assert "schools,registered,3" in csv_text
    # The default period counts exactly the data dated inside it.
    default = c.get("/yearly?format=csv").text
    recent = datetime.fromtimestamp(dept.now // 3600 * 3600 - 3600, VN).date()
    assert ("by_province,Hà Nội,30,0" in default) == (start <= recent <= end)
    assert ("alerts,self_harm,5" in default) == (start <= today - timedelta(days=3) <= end)
    assert "Yearly report on children" in c.get("/yearly?lang=en").text


def test_school_year_is_december_to_november() -> None:
    assert school_year(date(2026, 11, 25)) == (date(2025, 12, 1), date(2026, 11, 30))
    assert school_year(date(2026, 12, 5)) == (date(2025, 12, 1), date(2026, 11, 30))  # due before 10 December
    assert school_year(date(2026, 12, 31)) == (date(2025, 12, 1), date(2026, 11, 30))
    assert school_year(date(2027, 1, 10)) == (date(2026, 12, 1), date(2027, 11, 30))
    assert school_year(date(2028, 2, 29)) == (date(2027, 12, 1), date(2028, 11, 30))
    assert reporting_year_of(date(2026, 12, 1)) == (date(2026, 12, 1), date(2027, 11, 30))
    assert reporting_year_of(date(2026, 11, 30)) == (date(2025, 12, 1), date(2026, 11, 30))


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
