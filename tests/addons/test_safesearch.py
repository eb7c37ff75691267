from mitmproxy import http

from addons.core.model import VERDICT_KEY, Reason
from tests.addons.conftest import Chain


def run(chain: Chain, f: http.HTTPFlow) -> http.HTTPFlow:
    chain.clients.request(f)
    chain.enforce.request(f)
    chain.safesearch.request(f)
    return f


def test_google_gets_safe_search_and_youtube_the_header(chain: Chain) -> None:
    f = run(chain, chain.flow("https://www.google.com.vn/search?q=b%C3%A0i+t%E1%BA%ADp&safe=off", client="127.0.0.7"))
    assert f.response is None and f.request.query["safe"] == "active"
    f = run(chain, chain.flow("https://www.youtube.com/watch?v=x", client="127.0.0.11"))  # upper secondary
    assert f.request.headers["YouTube-Restrict"] == "Moderate"
    f = run(chain, chain.flow("https://www.youtube.com/watch?v=x", client="127.0.0.3"))  # primary
    assert f.request.headers["YouTube-Restrict"] == "Strict"
    f = run(chain, chain.flow("https://www.google.com/search?q=x", client="127.0.0.20"))  # staff
    assert f.request.query["q"] == "x" and "safe" not in f.request.query


def test_searches_are_scanned_before_they_leave(chain: Chain) -> None:
    f = run(chain, chain.flow("https://www.google.com/search?q=soi+keo+nha+cai+ca+do+bong+da", client="127.0.0.3"))
    assert f.response is not None and f.response.status_code == 403
    assert f.metadata[VERDICT_KEY].reason is Reason.PHRASE and f.metadata[VERDICT_KEY].category == "gambling"
    f = run(chain, chain.flow("https://www.bing.com/search?q=c%C3%A1ch+t%E1%BB%B1+t%E1%BB%AD", client="127.0.0.11"))
    v = f.metadata[VERDICT_KEY]
    assert (v.reason, v.category) == (Reason.SAFEGUARDING, "self_harm")
    f = run(chain, chain.flow("https://www.google.com/search?q=b%C3%A0i+t%E1%BA%ADp+to%C3%A1n", client="127.0.0.3"))
    assert f.response is None


def test_unsupported_engines_are_blocked_for_young_grades(chain: Chain) -> None:
    f = run(chain, chain.flow("https://coccoc.com/search?query=toan", client="127.0.0.3"))
    assert f.metadata[VERDICT_KEY].reason is Reason.SAFESEARCH
    f = run(chain, chain.flow("https://coccoc.com/search?query=toan", client="127.0.0.11"))
    assert f.response is None


def test_already_handled_flow_is_left_alone(chain: Chain) -> None:
    f = chain.flow("https://www.google.com/search?q=x")
    f.response = http.Response.make(200)
    chain.safesearch.request(f)
    assert "safe" not in f.request.query
