import asyncio
import base64
from dataclasses import replace

from mitmproxy import http

from addons.core.model import CLIENT_KEY
from addons.infra import accounts, signins
from tests.addons.conftest import Chain


def send(chain: Chain, url: str, client: str, credentials: bytes) -> http.HTTPFlow:
    """A plain HTTP request through the explicit proxy, with Proxy-Authorization."""
    f = chain.flow(url, client=client)
    f.request.headers["Proxy-Authorization"] = "Basic " + base64.b64encode(credentials).decode()
    asyncio.run(chain.clients.requestheaders(f))
    return chain.request(f)


def connect(chain: Chain, client: str, credentials: bytes) -> http.HTTPFlow:
    """A CONNECT through the explicit proxy, with Proxy-Authorization."""
    f = chain.flow("http://school.test:443/", client=client, method="CONNECT")
    f.request.headers["Proxy-Authorization"] = "Basic " + base64.b64encode(credentials).decode()
    asyncio.run(chain.clients.http_connect(f))
    return f


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
    chain.runtime.settings = replace(chain.runtime.settings, proxy_auth=True)
    accounts.add_user(chain.runtime.settings.db_path, "co-lan", "a long password", "teacher")
    f = send(chain, "http://bet.test/", "127.0.0.3", b"co-lan:a long password")
    assert f.metadata[CLIENT_KEY].group == "staff" and "Proxy-Authorization" not in f.request.headers
    assert f.response is None
    bad = send(chain, "http://bet.test/", "127.0.0.3", b"co-lan:wrong")
    assert bad.response is not None and bad.response.status_code == 407
    tunnel = connect(chain, "127.0.0.4", b"co-lan:a long password")
    assert tunnel.response is None and chain.runtime.conn_groups[tunnel.client_conn.id] == "staff"


def test_failed_proxy_sign_ins_count_with_the_reserved_hosts(chain: Chain) -> None:
    chain.runtime.settings = replace(chain.runtime.settings, proxy_auth=True)
    db = chain.runtime.settings.db_path
    accounts.add_user(db, "co-lan", "a long password", "teacher")
    for _ in range(signins.FAILURES_ALLOWED - 2):
        signins.record_failure(db, "127.0.0.3")  # on the sign-in page, or another worker
    tunnel = connect(chain, "127.0.0.3", b"co-lan:wrong")
    assert tunnel.response is not None and tunnel.response.status_code == 407
    assert not signins.too_many_failures(db, "127.0.0.3")  # one failed CONNECT counts once
    bad = send(chain, "http://bet.test/", "127.0.0.3", b"co-lan:wrong")
    assert bad.response is not None and bad.response.status_code == 407
    good = send(chain, "http://bet.test/", "127.0.0.3", b"co-lan:a long password")
    assert good.response is not None and good.response.status_code == 407  # locked out for 15 minutes
    assert connect(chain, "127.0.0.3", b"co-lan:a long password").response is not None
    other = send(chain, "http://bet.test/", "127.0.0.7", b"co-lan:a long password")
    assert other.response is None  # another device is not
