from mitmproxy.test import tflow

from addons.core.model import BLOCKED_KEY, VERDICT_KEY, Action, Reason, Verdict
from addons.flowutil import block, flow_host, minimal_block


def test_block_and_minimal_response() -> None:
    f = tflow.tflow()
    v = Verdict(Action.BLOCK, Reason.CATEGORY, "grade-7", category="games")
    block(f, v)
    assert f.metadata[VERDICT_KEY] is v and f.metadata[BLOCKED_KEY]
    assert f.response is not None and f.response.status_code == 403
    assert f.response.headers["X-Schoolgate-Category"] == "games"
    assert b"category: games" in minimal_block(v).content
    f.request.host = "WWW.Example.COM"
    assert flow_host(f) == "www.example.com"
