"""Helpers on mitmproxy flows shared by the addons (not an addon itself).

Addons never import each other; they may import this module, which holds no
state: how a block is written into a flow, and which host a flow is for.
"""

from __future__ import annotations

from mitmproxy import http

from addons.core.domains import HostError, normalise_host
from addons.core.model import BLOCKED_KEY, VERDICT_KEY, Verdict


def minimal_block(verdict: Verdict) -> http.Response:
    """The short 403 every block starts as; BlockPage turns page requests into the full page."""
    reason = verdict.reason.value
    headers = {
        "Content-Type": "text/plain; charset=utf-8",
        "Cache-Control": "no-store",
        "X-Schoolgate-Reason": reason,
    }
    if verdict.category:
        headers["X-Schoolgate-Category"] = verdict.category
    body = f"Blocked by the school's filter (reason: {reason}"
    body += f", category: {verdict.category})\n" if verdict.category else ")\n"
    return http.Response.make(403, body.encode(), headers)


def block(flow: http.HTTPFlow, verdict: Verdict) -> None:
    """Record a blocking verdict and answer the flow with the short 403."""
    flow.metadata[VERDICT_KEY] = verdict
    flow.metadata[BLOCKED_KEY] = True
    flow.response = minimal_block(verdict)


def flow_host(flow: http.HTTPFlow) -> str:
    """The flow's host as the core compares hosts (the name the client asked for)."""
    try:
        return normalise_host(flow.request.pretty_host)
    except HostError:
        return flow.request.pretty_host.lower()


def block_at_headers(flow: http.HTTPFlow, verdict: Verdict) -> None:
    """Block once the server's response headers are known (a file type, a MIME type):
    the server's body is discarded as it arrives, the client gets the short 403."""
    assert flow.response is not None
    body = minimal_block(verdict).content or b""
    response = flow.response
    response.status_code = 403
    response.reason = "Forbidden"
    response.headers.clear()
    for name, value in minimal_block(verdict).headers.items():
        response.headers[name] = value
    response.headers["Content-Length"] = str(len(body))
    sent = False

    def replace_body(chunk: bytes) -> list[bytes]:
        nonlocal sent
        if chunk == b"" and not sent:  # the end of the server's body
            sent = True
            return [body]
        return []

    response.stream = replace_body
    flow.metadata[VERDICT_KEY] = verdict
    flow.metadata[BLOCKED_KEY] = True
