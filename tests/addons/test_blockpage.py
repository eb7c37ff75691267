from datetime import datetime

from mitmproxy import http

from addons.blockpage import wants_page
from addons.core.model import Action, Reason, Verdict
from addons.core.settings import Settings
from tests.addons.conftest import Chain


def test_page_requests_get_the_bilingual_page(chain: Chain) -> None:
    f = chain.request(chain.flow("http://www.bet.test/", client="127.0.0.3"))
    assert f.response is not None and f.response.status_code == 403
    assert f.response.headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in f.response.headers["Content-Security-Policy"]
    page = f.response.get_text()
    assert "Trang này đã bị chặn" in page and "This page is blocked" in page
    assert "Cờ bạc, cá độ" in page and "Lớp 3" in page and "111" in page


def test_images_keep_the_short_403(chain: Chain) -> None:
    f = chain.request(chain.flow("http://bet.test/a.png", accept="image/*"))
    assert f.response is not None and f.response.headers["Content-Type"].startswith("text/plain")


def test_wants_page() -> None:
    def req(**headers: str) -> http.Request:
        r = http.Request.make("GET", "http://a.test/")
        r.headers.clear()
        r.headers.update(headers)
        return r

    assert wants_page(req(Accept="text/html,application/xhtml+xml"))
    assert not wants_page(req(Accept="*/*"))
    assert wants_page(req(**{"Sec-Fetch-Dest": "document", "Accept": "*/*"}))
    assert not wants_page(req(**{"Sec-Fetch-Dest": "image", "Accept": "text/html"}))


def test_render_language_order_and_review_link(chain: Chain) -> None:
    verdict = Verdict(Action.BLOCK, Reason.SCHEDULE, "grade-11", 11, "upper-secondary", category="games")
    at = datetime(2026, 11, 23, 9, 30)
    en_first = chain.blockpage.render(verdict, "games.test", chain.runtime.snapshot,
                                      Settings(language="en", dashboard_url="http://10.0.0.1:8081",
                                               school_name="THPT Chu Văn An",
                                               counsellor_contact="cô Lan, phòng 204"), at)
    assert en_first.index("This page is blocked") < en_first.index("Trang này đã bị chặn")
    assert "http://10.0.0.1:8081/review?host=games.test&amp;reason=schedule" in en_first
    assert "THPT Chu Văn An" in en_first and "cô Lan, phòng 204" in en_first
    assert "09:30 23/11/2026" in en_first and "schedule-games-grade-11-202611230930" in en_first
    plain = chain.blockpage.render(verdict, "<script>x</script>", None, Settings(dashboard_port=0), at)
    assert "<script>x" not in plain  # escaped
    assert "/review?" not in plain


def test_head_request_has_no_body(chain: Chain) -> None:
    f = chain.request(chain.flow("http://bet.test/", method="HEAD"))
    assert f.response is not None and f.response.content == b""
