from addons.core.model import SELFTEST_KEY
from addons.selftest_probe import SelftestProbe
from tests.addons.conftest import Chain


def test_allowed_probes_are_answered_with_what_would_leave(chain: Chain) -> None:
    probe = SelftestProbe(chain.runtime)
    f = chain.flow("http://www.google.com/search?q=x", client="127.0.0.7")
    chain.clients.request(f)
    f.metadata[SELFTEST_KEY] = True
    chain.enforce.request(f)
    chain.safesearch.request(f)
    probe.request(f)
    assert f.response is not None and f.response.headers["X-Schoolgate-Query"] == "q=x&safe=active"
    other = chain.flow("http://x.test/")
    probe.request(other)
    assert other.response is None  # not a probe
