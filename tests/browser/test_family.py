"""The home gateway's first run on a phone (Debian's Chromium, 390x844, touch), in
Vietnamese: from nothing to a protected child, checked through the real proxy
(`--profile home`); then pause and resume from the phone apply within seconds."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from addons.core.settings import Settings
from addons.infra.clock import ENV
from tests.browser.test_dashboard import sets, shot
from tests.conftest import proxy_args
from tests.e2e.test_proxy import curl
from tests.e2e.test_reload import wait_everywhere
from tests.helpers.proxy import DashboardProcess, ProxyProcess
from tests.helpers.upstream import free_port

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CHILD = "127.0.0.5"
OTHER = "127.0.0.6"
PASSWORD = "mật khẩu của bố mẹ 2026"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True,
         "locale": "vi-VN"}


@pytest.fixture
def home(upstream, settings: Settings, tmp_path: Path) -> Iterator[tuple[ProxyProcess, str]]:  # type: ignore[no-untyped-def]
    clock = tmp_path / "clock"  # a Monday afternoon: no bedtime, no homework time
    clock.write_text(str(datetime(2026, 11, 23, 16, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")).timestamp()))
    env = {ENV: str(clock)}
    settings = replace(settings, dashboard_port=free_port())
    proxy = ProxyProcess(proxy_args(settings, upstream) + ["--set", "schoolgate_profile=home"], env=env).start()
    dash = DashboardProcess(sets(settings) + ["--set", "schoolgate_profile=home",
                                              "--set", "schoolgate_dashboard_host=127.0.0.1"], env=env).start()
    try:
        yield proxy, f"http://127.0.0.1:{dash.port}"
    finally:
        dash.stop()
        if proxy.stop() not in (0, None):
            print(proxy.log)


def fits_the_phone(page) -> bool:  # type: ignore[no-untyped-def]
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_first_run_on_a_phone_in_vietnamese(browser, home) -> None:  # type: ignore[no-untyped-def]
    proxy, base = home
    # The child's tablet has used the internet, so the setup page can offer it.
    assert curl(proxy.url, "http://www.tiktok.com/", CHILD)[0] == 200
    page = browser.new_context(**PHONE).new_page()

    page.goto(base + "/")
    assert page.url.endswith("/family/setup")
    assert page.inner_text("h1") == "Cài đặt Internet cho gia đình" and "Bước 1/4" in page.inner_text("main")
    assert fits_the_phone(page)
    shot(page, "family-setup-phone-vi")
    page.fill("#password", PASSWORD)
    page.fill("#password2", PASSWORD)
    page.tap("main button[type=submit]")

    page.wait_for_selector("text=Bước 2/4")
    assert page.inner_text("h1") == "Con của bạn"
    page.fill("#name", "Bống")
    page.select_option("#age", "9")
    page.tap("main button[type=submit]")

    page.wait_for_selector("text=Bước 3/4")
    assert page.inner_text("h1") == "Thiết bị của Bống"
    page.wait_for_selector(f"text={CHILD}")  # seen by the proxy
    page.check(f"input[value='{CHILD}']")
    assert fits_the_phone(page)
    shot(page, "family-devices-phone-vi")
    page.tap("main button[type=submit]")

    page.wait_for_selector("text=Bước 4/4")
    assert page.inner_text("h1") == "Quy định cho Bống"
    page.select_option("#svc_tiktok", "block")
    page.select_option("#svc_youtube", "limit")
    page.fill("#min_youtube", "45")
    assert fits_the_phone(page)
    shot(page, "family-rules-phone-vi")
    page.tap("main button[type=submit]")

    page.wait_for_selector("text=Bống đã được bảo vệ")
    assert page.inner_text("h1") == "Gia đình"
    box = page.locator("#child-bong, section.child").first.locator("button.pause").bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 300  # a thumb-sized button
    assert fits_the_phone(page)
    shot(page, "family-home-phone-vi")

    # Through the real proxy: the child's tablet is filtered, another device is not.
    wait_everywhere(proxy.url, "http://www.tiktok.com/", CHILD, 403, deadline=5)
    status, headers, body = curl(proxy.url, "http://www.tiktok.com/", CHILD)
    assert headers["x-schoolgate-reason"] == "service" and "Bố mẹ đã tắt TikTok" in body.decode()
    assert curl(proxy.url, "http://www.tiktok.com/", OTHER)[0] == 200
    assert curl(proxy.url, "http://adult.test/", CHILD)[0] == 403  # the primary-school preset
    assert curl(proxy.url, "http://school.test/", CHILD)[0] == 200

    # Pause and resume from the phone.
    page.locator("section.child button.pause").tap()
    page.wait_for_selector("text=Đang tạm dừng")
    wait_everywhere(proxy.url, "http://school.test/", CHILD, 403, deadline=5)
    page.locator("section.child button.resume").tap()
    page.wait_for_selector("text=Đang dùng được")
    wait_everywhere(proxy.url, "http://school.test/", CHILD, 200, deadline=5)

    # English is one tap away.
    page.goto(base + "/family?lang=en")
    assert page.inner_text("h1") == "Family" and "Allow 30 more minutes" in page.inner_text("main")
