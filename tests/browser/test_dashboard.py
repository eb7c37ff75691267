"""The dashboard in a real browser (Debian's Chromium driven by Playwright) with
the real proxy: an admin creates a teacher; the teacher unblocks a site for
grade 7 and the proxy lets grade 7 through within seconds while grade 3 stays
blocked; a child's review request is approved and works; Vietnamese and English."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from addons.core.settings import Settings
from tests.e2e.test_proxy import curl
from tests.e2e.test_reload import wait_status
from tests.helpers.proxy import SCHOOLGATE, DashboardProcess
from tests.helpers.upstream import free_port

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ADMIN_PASSWORD = "admin password 2026"
TEACHER_PASSWORD = "teacher password 2026"


def sets(settings: Settings) -> list[str]:
    return ["--set", f"schoolgate_policies_dir={settings.policies_dir}",
            "--set", f"schoolgate_blocklists_dir={settings.blocklists_dir}",
            "--set", f"schoolgate_data_dir={settings.data_dir}",
            "--set", f"schoolgate_dashboard_port={settings.dashboard_port}"]


@pytest.fixture
def stack(start_proxy, settings: Settings) -> Iterator[tuple[object, str, Settings]]:  # type: ignore[no-untyped-def]
    settings = replace(settings, dashboard_port=free_port())
    proxy = start_proxy()
    dash = DashboardProcess(sets(settings)).start()
    out = subprocess.run(SCHOOLGATE + ["user", "add", "admin", "--role", "admin", "--password-stdin", *sets(settings)],
                         input=ADMIN_PASSWORD + "\n", capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    try:
        yield proxy, f"http://127.0.0.1:{dash.port}", settings
    finally:
        dash.stop()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def login(page, base: str, name: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")


def test_teacher_unblocks_for_grade_7_and_a_review_is_approved(browser, stack) -> None:  # type: ignore[no-untyped-def]
    proxy, base, settings = stack
    assert curl(proxy.url, "http://classchat.test/", "127.0.0.7")[0] == 403  # chat is blocked for grade 7
    assert curl(proxy.url, "http://classchat.test/", "127.0.0.3")[0] == 403

    # The admin creates a teacher for grade 7.
    admin = browser.new_page()
    login(admin, base, "admin", ADMIN_PASSWORD)
    assert admin.inner_text("h1") == "Tổng quan"
    shot(admin, "dashboard-home-vi")
    admin.goto(f"{base}/users")
    admin.fill("#name", "co-lan")
    admin.fill("#password", TEACHER_PASSWORD)
    admin.select_option("#role", "teacher")
    admin.select_option("#groups", ["grade-7"])
    admin.check("input[name=safeguarding]")
    admin.click("form.card button[type=submit]")
    admin.wait_for_selector("text=co-lan")

    # The teacher signs in and opens classchat.test for grade 7.
    context = browser.new_context()
    teacher = context.new_page()
    login(teacher, base, "co-lan", TEACHER_PASSWORD)
    teacher.goto(f"{base}/policies")
    teacher.click("a[href='/policies/grade-7']")
    teacher.fill("#allow", "classchat.test")
    teacher.click("form.card button[type=submit]")
    teacher.wait_for_selector("p.ok")
    assert "Đã lưu" in teacher.inner_text("p.ok")
    shot(teacher, "dashboard-policy-vi")
    wait_status(proxy.url, "http://classchat.test/", "127.0.0.7", 200, deadline=5)
    assert curl(proxy.url, "http://classchat.test/", "127.0.0.3")[0] == 403  # grade 3 stays blocked

    # A grade-3 child asks for a review from the block page's link; the admin approves.
    child = browser.new_context().new_page()
    child.goto(f"{base}/review?host=classchat.test&reason=category&category=chat&group=grade-3")
    child.fill("#note", "Lớp em dùng trang này cho bài tập nhóm")
    child.click("form.card button[type=submit]")
    child.wait_for_selector("text=Đã gửi đề nghị")
    admin.goto(f"{base}/reviews")
    admin.wait_for_selector("text=Lớp em dùng trang này cho bài tập nhóm")
    admin.click("tr.review button[value=approve]")
    admin.wait_for_selector("text=đã mở")
    wait_status(proxy.url, "http://classchat.test/", "127.0.0.3", 200, deadline=5)

    # English is one click away.
    admin.click("a.lang")
    admin.wait_for_selector("text=Review requests")
    admin.goto(f"{base}/")
    assert admin.inner_text("h1") == "Overview"
    shot(admin, "dashboard-home-en")
    audit = admin.goto(f"{base}/audit")
    assert audit is not None and "policy_saved" in admin.content() and "review_approved" in admin.content()
