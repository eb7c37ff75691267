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
