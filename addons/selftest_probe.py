"""SelftestProbe: answers an allowed `schoolgate selftest` probe at the end of the
chain instead of sending it upstream, echoing what the request would carry (the
decision, the rewritten search query, the YouTube-Restrict header)."""

from __future__ import annotations

from mitmproxy import http

from addons.core.model import SELFTEST_KEY, VERDICT_KEY, Verdict
from addons.core.safesearch import YOUTUBE_HEADER
from addons.core.snapshot import Runtime


class SelftestProbe:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live or not flow.metadata.get(SELFTEST_KEY):
            return
        verdict: Verdict | None = flow.metadata.get(VERDICT_KEY)
        headers = {
            "Content-Type": "text/plain",
            "X-Schoolgate-Reason": verdict.reason.value if verdict else "none",
            "X-Schoolgate-Query": flow.request.path.partition("?")[2],
            "X-Schoolgate-YouTube": flow.request.headers.get(YOUTUBE_HEADER, ""),
        }
        flow.response = http.Response.make(200, b"schoolgate selftest: allowed\n", headers)
