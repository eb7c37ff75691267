"""SafeSearch: on allowed requests to a search or video engine of
blocklists/safesearch.yaml, force the engine's safe-search switch or the
YouTube-Restrict header per the group's settings, and scan the search terms with
the phrase lists before the request leaves."""

from __future__ import annotations

import logging

from mitmproxy import http

from addons.core.decide import blocked_now, content_verdict
from addons.core.model import CLIENT_KEY, VERDICT_KEY, Action, ClientInfo, Reason, Verdict
from addons.core.snapshot import Runtime
from addons.flowutil import block, flow_host

logger = logging.getLogger(__name__)

SEARCH_KEY = "schoolgate.search"  # the engine id, set on requests that are searches


class SafeSearch:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live:
            return
        verdict: Verdict | None = flow.metadata.get(VERDICT_KEY)
        client: ClientInfo | None = flow.metadata.get(CLIENT_KEY)
        snap = self.runtime.snapshot
        if verdict is None or verdict.action is not Action.ALLOW or client is None or snap is None:
            return
        engine = snap.engines.match(flow_host(flow))
        if engine is None:
            return
        group = snap.policy.groups.get(client.group)
        if group is None:
            return
        params = dict(flow.request.query.items(multi=False))
        plan = snap.engines.plan(engine, group.content, flow.request.path.split("?", 1)[0], params)
        for name, value in plan.set_params.items():
            flow.request.query[name] = value
        for name, value in plan.headers.items():
            flow.request.headers[name] = value
        if plan.query is None:
            return
        flow.metadata[SEARCH_KEY] = engine.id
        threshold = group.content.search_threshold
        if threshold is None or not snap.phrases.count:
            return
        result = snap.phrases.scan(plan.query)
        blocked = blocked_now(group, snap.now())
        over = result.over(threshold, blocked)
        if not over:
            return
        safeguarding = [c for c, _ in over if c in snap.categories.safeguarding]
        reason = Reason.SAFEGUARDING if safeguarding else Reason.PHRASE
        top = safeguarding[0] if safeguarding else over[0][0]
        block(flow, content_verdict(group, reason, top, tuple(c for c, _ in over),
                                    f"search on {engine.name}", threshold,
                                    group.content.origin("search_threshold")))
