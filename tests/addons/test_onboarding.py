import asyncio

from mitmproxy import http

from addons.infra import accounts
from addons.onboarding import Onboarding
from addons.runner import ensure_ca
from tests.addons.conftest import Chain


def serve(ob: Onboarding, chain: Chain, url: str, client: str = "127.0.0.7", method: str = "GET",
          body: bytes = b"") -> http.HTTPFlow:
    f = chain.flow(url, client=client, method=method)
    if body:
        f.request.headers["Content-Type"] = "application/x-www-form-urlencoded"
        f.request.content = body
    asyncio.run(ob.request(f))
    return f


def test_onboarding_site_and_sign_in(chain: Chain) -> None:
    settings = chain.runtime.settings
    ensure_ca(settings.ca_path, "THCS Lê Lợi")
    chain.tctx.options.confdir = str(settings.ca_path)
    ob = Onboarding(chain.runtime)
    page = serve(ob, chain, "http://schoolgate.local/")
    text = page.response.get_text()
    assert "Kết nối mạng của trường" in text and "Connect to the school network" in text
    for os_name in ("Windows", "macOS", "ChromeOS", "Android", "iOS"):
        assert os_name in text
    assert serve(ob, chain, "http://schoolgate.local/ca.pem").response.content.startswith(b"-----BEGIN CERTIFICATE")
    assert serve(ob, chain, "http://schoolgate.local/ca.crt").response.content[:1] == b"\x30"  # DER
    assert serve(ob, chain, "http://other.test/").response is None  # other hosts are not ours

    accounts.add_user(settings.db_path, "co-lan", "a long password", "teacher", ["grade-7"])
    bad = serve(ob, chain, "http://schoolgate.local/signin", method="POST", body=b"name=co-lan&password=nope")
    assert bad.response.status_code == 401
    ok = serve(ob, chain, "http://schoolgate.local/signin", method="POST", body=b"name=co-lan&password=a+long+password")
    assert ok.response.status_code == 200 and chain.runtime.signins["127.0.0.7"][0] == "staff"
    f = chain.request(chain.flow("http://bet.test/", client="127.0.0.7"))
    assert f.response is None  # the signed-in lab computer has the staff policy
    serve(ob, chain, "http://schoolgate.local/signout", method="POST")
    f = chain.request(chain.flow("http://bet.test/", client="127.0.0.7"))
    assert f.response is not None
    for _ in range(5):
        serve(ob, chain, "http://schoolgate.local/signin", client="127.0.0.3", method="POST", body=b"name=x&password=y")
    assert serve(ob, chain, "http://schoolgate.local/signin", client="127.0.0.3", method="POST",
                 body=b"name=co-lan&password=a+long+password").response.status_code == 429


def test_home_profile_sends_parents_to_the_setup_page(chain: Chain) -> None:
    from dataclasses import replace

    ob = Onboarding(chain.runtime)
    assert serve(ob, chain, "http://schoolgate.local/setup").response.status_code == 404  # a school gateway
    chain.runtime.settings = replace(chain.runtime.settings, profile="home", dashboard_port=8081)
    f = chain.flow("http://schoolgate.local/setup")
    f.client_conn.sockname = ("192.168.1.1", 8080)
    asyncio.run(ob.request(f))
    assert (f.response.status_code, f.response.headers["Location"]) == (302, "http://192.168.1.1:8081/family/setup")


def test_failed_sign_ins_are_limited_over_every_worker(chain: Chain) -> None:
    settings = chain.runtime.settings
    accounts.add_user(settings.db_path, "co-lan", "a long password", "teacher", ["grade-7"])
    first, second = Onboarding(chain.runtime), Onboarding(chain.runtime)  # two proxy worker processes
    for ob in (first, second, first, second, first):
        assert serve(ob, chain, "http://schoolgate.local/signin", client="127.0.0.3", method="POST",
                     body=b"name=x&password=y").response.status_code == 401
    for ob in (first, second):
        assert serve(ob, chain, "http://schoolgate.local/signin", client="127.0.0.3", method="POST",
                     body=b"name=co-lan&password=a+long+password").response.status_code == 429
