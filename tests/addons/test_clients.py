from mitmproxy import http

from addons.core.model import CLIENT_KEY
from tests.addons.conftest import Chain


def test_client_group_from_address(chain: Chain) -> None:
    f = chain.flow("http://school.test/", client="127.0.0.7")
    chain.clients.request(f)
    info = f.metadata[CLIENT_KEY]
    assert (info.group, info.range_name) == ("grade-7", "Lớp 7A")
    f = chain.flow("http://school.test/", client="::ffff:127.0.0.20")
    chain.clients.request(f)
    assert f.metadata[CLIENT_KEY].group == "staff"
    f = chain.flow("http://school.test/", client="192.0.2.9")
    chain.clients.request(f)
    assert f.metadata[CLIENT_KEY].group == "default"


def test_already_handled_flows_are_left_alone(chain: Chain) -> None:
    f = chain.flow("http://school.test/")
    f.response = http.Response.make(200)
    chain.clients.request(f)
    assert CLIENT_KEY not in f.metadata


def test_proxy_authentication_gives_staff_the_staff_policy(chain: Chain) -> None:
    import base64
    from dataclasses import replace

    from addons.infra import accounts

    chain.runtime.settings = replace(chain.runtime.settings, proxy_auth=True)
    accounts.add_user(chain.runtime.settings.db_path, "co-lan", "a long password", "teacher")
    f = chain.flow("http://bet.test/", client="127.0.0.3")
    f.request.headers["Proxy-Authorization"] = "Basic " + base64.b64encode(b"co-lan:a long password").decode()
    chain.request(f)
    assert f.metadata[CLIENT_KEY].group == "staff" and "Proxy-Authorization" not in f.request.headers
    assert f.response is None
    bad = chain.flow("http://bet.test/", client="127.0.0.3")
    bad.request.headers["Proxy-Authorization"] = "Basic " + base64.b64encode(b"co-lan:wrong").decode()
    chain.request(bad)
    assert bad.response is not None and bad.response.status_code == 407


def test_failed_proxy_sign_ins_count_with_the_reserved_hosts(chain: Chain) -> None:
    import base64
    from dataclasses import replace

    from addons.infra import accounts, signins

    chain.runtime.settings = replace(chain.runtime.settings, proxy_auth=True)
    db = chain.runtime.settings.db_path
    accounts.add_user(db, "co-lan", "a long password", "teacher")
    for _ in range(signins.FAILURES_ALLOWED - 1):
        signins.record_failure(db, "127.0.0.3")  # on the sign-in page, or another worker
    bad = chain.flow("http://bet.test/", client="127.0.0.3")
    bad.request.headers["Proxy-Authorization"] = "Basic " + base64.b64encode(b"co-lan:wrong").decode()
    chain.request(bad)
    assert bad.response is not None and bad.response.status_code == 407
    good = chain.flow("http://bet.test/", client="127.0.0.3")
    good.request.headers["Proxy-Authorization"] = "Basic " + base64.b64encode(b"co-lan:a long password").decode()
    chain.request(good)
    assert good.response is not None and good.response.status_code == 407  # locked out for 15 minutes
    other = chain.flow("http://bet.test/", client="127.0.0.7")
    other.request.headers["Proxy-Authorization"] = "Basic " + base64.b64encode(b"co-lan:a long password").decode()
    chain.request(other)
    assert other.response is None  # another device is not
