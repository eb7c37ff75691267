"""The department's pages in a real browser (Debian's Chromium driven by
Playwright) on a real department server over HTTPS, fed by three schools'
real exporters: a department viewer signs in, reads the overview in Vietnamese,
narrows it to a province, switches to English, prints the yearly report and
downloads its CSV; the authority reports stay admin-only."""

from __future__ import annotations

import csv
import io
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from addons.infra import export
from dashboard.department.server import main as department_main
from dashboard.department.views import reporting_year_of
from tests.browser.test_dashboard import shot
from tests.e2e.test_department import cycle, make_school
from tests.helpers.department import DepartmentServer
from tests.helpers.proxy import SCHOOLGATE

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

PASSWORD = "department password 2026"
PROVINCES = ("Hà Nội", "TP Hồ Chí Minh", "Hà Nội")


@pytest.fixture
def department(tmp_path: Path) -> Iterator[DepartmentServer]:
    with DepartmentServer(tmp_path) as srv:
        now = time.time()
        for i, province in enumerate(PROVINCES):
            school = make_school(tmp_path, i, srv.url, srv.cert, start=int(now))
            _, public = export.school_key(school.settings.data_path)
            assert department_main(["register", school.id, "--name", f"Trường số {i}", "--province", province,
                                    "--district", "Quận 1", "--levels", school.level, "--public-key", public,
                                    *srv.args()]) == 0
            result = cycle(school, now)
            assert result.delivered == 1, result.error
        out = subprocess.run(SCHOOLGATE + ["user", "add", "so-gd", "--role", "department", "--password-stdin",
                                           "--set", f"schoolgate_data_dir={srv.data}"],
                             input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        yield srv


def test_a_department_viewer_reads_the_overview_and_the_yearly_report(browser, department) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(ignore_https_errors=True, locale="vi-VN")
    page = context.new_page()
    base = department.url
    page.goto(f"{base}/")
    assert "/login" in page.url
    page.fill("input[name=name]", "so-gd")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")
    assert page.inner_text("h1") == "Tổng quan các trường"
    assert page.locator(".card strong").first.inner_text() == "3"
    provinces = page.locator("table", has_text="Hà Nội")
    assert provinces.count() >= 1
    row = page.locator("tr", has=page.locator("a", has_text="Hà Nội"))
    assert row.locator("td").nth(1).inner_text() == "14"  # 7 games blocks in each of two schools
    assert page.locator("td", has_text="Không thuộc loại nào").count() == 1  # not the raw id "uncategorised"
    shot(page, "department-overview-vi")

    page.click("a:text('Hà Nội')")
    page.wait_for_selector("h1")
    assert "province=" in page.url
    assert page.locator("select[name=province] option:checked").inner_text() == "Hà Nội"

    page.click("a.lang")
    page.wait_for_selector("h1")
    assert page.inner_text("h1") == "Overview of the schools"

    # The schools exported the current hour: ask for the reporting year that holds it
    # (the default, the year due next, is the one just ended during December).
    start, end = reporting_year_of(datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date())
    period = f"from={start.isoformat()}&to={end.isoformat()}"
    page.goto(f"{base}/yearly?lang=vi&{period}")
    assert page.inner_text("h1") == "Báo cáo năm về bảo vệ trẻ em trên môi trường mạng"
    hint = page.locator("p.noprint")
    assert hint.is_visible()
    page.emulate_media(media="print")
    assert not hint.is_visible()  # the printed copy is just the report
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 5000
    shot(page, "department-yearly-print")
    page.emulate_media(media="screen")

    answer = context.request.get(f"{base}/yearly?format=csv&{period}")
    assert answer.status == 200 and "attachment" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.text().lstrip("\ufeff"))))
    assert rows[0] == ["section", "key", "blocked", "allowed"]
    assert ["schools", "registered", "3", ""] in rows and ["schools", "reporting", "3", ""] in rows
    assert any(r[:3] == ["by_province", "Hà Nội", "14"] for r in rows), rows

    answer = context.request.get(f"{base}/authority")
    assert answer.status == 403  # authority reports: department admins only
    context.close()
