from mitmproxy import http

from addons.core.model import PII_CONFIRM, VERDICT_KEY, Reason
from tests.addons.conftest import Chain, drive

FORM = "application/x-www-form-urlencoded"


def post(chain: Chain, url: str, body: bytes, ctype: str = FORM, client: str = "127.0.0.7") -> http.HTTPFlow:
    f = chain.flow(url, client=client, method="POST")
    f.request.headers["Content-Type"] = ctype
    f.request.content = body
    return chain.request(f)


def test_a_form_with_a_phone_number_gets_the_warning(chain: Chain) -> None:
    f = post(chain, "http://quiz.test/signup", b"name=An&phone=0912345678")
    assert f.response is not None and f.response.status_code == 403
    assert f.metadata[VERDICT_KEY].reason is Reason.PERSONAL_INFO
    page = f.response.get_text()
    assert "số điện thoại" in page and "a phone number" in page and "quiz.test" in page
    assert 'name="phone" value="0912345678"' in page  # the form is re-sent as it was, from the child's browser
    token = page.split(f'name="{PII_CONFIRM}" value="')[1].split('"')[0]
    # the child confirms: the form comes back with the token, which the proxy removes
    again = post(chain, "http://quiz.test/signup", f"name=An&phone=0912345678&{PII_CONFIRM}={token}".encode())
    assert again.response is None and again.request.content == b"name=An&phone=0912345678"


def test_json_posts_use_the_ten_minute_confirmation(chain: Chain) -> None:
    f = post(chain, "http://app.test/api/profile", b'{"email": "an@gmail.com"}', "application/json")
    assert f.metadata[VERDICT_KEY].reason is Reason.PERSONAL_INFO
    page = f.response.get_text()
    link = page.split(f"{PII_CONFIRM}=")[1].split('"')[0]
    ok = chain.request(chain.flow(f"http://app.test/api/profile?{PII_CONFIRM}={link}", client="127.0.0.7"))
    assert ok.response is not None and ok.response.status_code == 200
    again = post(chain, "http://app.test/api/profile", b'{"email": "an@gmail.com"}', "application/json")
    assert again.response is None
    bad = chain.request(chain.flow(f"http://app.test/x?{PII_CONFIRM}=forged", client="127.0.0.7"))
    assert bad.response.status_code == 400


def test_staff_allowed_sites_and_plain_forms_pass(chain: Chain) -> None:
    assert post(chain, "http://quiz.test/s", b"phone=0912345678", client="127.0.0.20").response is None
    assert post(chain, "http://quiz.test/s", b"answer=42").response is None


def test_send_anyway_holds_on_every_worker(chain: Chain) -> None:
    from addons.personal_info import PersonalInfo

    other = PersonalInfo(chain.runtime)  # another proxy worker: its own memory, the same store and key
    chain.personal.running()
    other.running()
    f = post(chain, "http://app.test/api/profile", b'{"email": "an@gmail.com"}', "application/json")
    link = f.response.get_text().split(f"{PII_CONFIRM}=")[1].split('"')[0]
    ok = chain.request(chain.flow(f"http://app.test/api/profile?{PII_CONFIRM}={link}", client="127.0.0.7"))
    assert ok.response is not None and ok.response.status_code == 200
    again = chain.flow("http://app.test/api/profile", client="127.0.0.7", method="POST")
    again.request.headers["Content-Type"] = "application/json"
    again.request.content = b'{"email": "an@gmail.com"}'
    for addon in (chain.clients, chain.enforce, other):
        drive(addon.request(again))
    assert again.response is None  # the post the child chose to send reaches the site
    elsewhere = chain.flow("http://other.test/api/profile", client="127.0.0.7", method="POST")
    elsewhere.request.headers["Content-Type"] = "application/json"
    elsewhere.request.content = b'{"email": "an@gmail.com"}'
    for addon in (chain.clients, chain.enforce, other):
        drive(addon.request(elsewhere))
    assert elsewhere.response is not None  # only for that site
    # The store holds neither the device's address nor the site.
    import sqlite3

    with sqlite3.connect(chain.runtime.settings.db_path) as conn:
        rows = conn.execute("SELECT key, until FROM personal_info_bypass").fetchall()
    assert len(rows) == 1 and "app.test" not in rows[0][0] and "127.0.0.7" not in rows[0][0]
