"""Helpers on mitmproxy flows shared by the addons (not an addon itself).

Addons never import each other; they may import this module, which holds no
state: how a block is written into a flow, and which host a flow is for.
"""

from __future__ import annotations

from mitmproxy import connection, http
from mitmproxy.proxy import mode_specs

from addons.core.domains import HostError, normalise_host, parse_authority
from addons.core.layers import Name, distinct
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


def explicit_mode(client: connection.Client) -> bool:
    """The device names its target (a proxy request or CONNECT, SOCKS): the proxy
    connects there. Otherwise (transparent, WireGuard, local capture) the device
    chose an address, and the names it carries say which site it wants."""
    return isinstance(getattr(client, "proxy_mode", None),
                      (mode_specs.RegularMode, mode_specs.UpstreamMode, mode_specs.Socks5Mode))


def upstream_mode(client: connection.Client) -> bool:
    return isinstance(getattr(client, "proxy_mode", None), mode_specs.UpstreamMode)


class BadName(ValueError):
    """A name of the request that does not parse: `layer` says which."""

    def __init__(self, layer: str, message: str):
        super().__init__(message)
        self.layer = layer


def request_names(flow: http.HTTPFlow) -> list[Name]:
    """Every name a request carries, the one it goes to first (core.layers).

    Explicit proxy: the target (a CONNECT's, or the absolute URL's), then the TLS
    server name and the Host header (or HTTP/2 `:authority`). Transparent mode:
    the server name and the Host header, and the destination address only when the
    request carries no name. Raises BadName for a name that does not parse."""
    req, client = flow.request, flow.client_conn
    carried: list[Name] = []
    if client.sni:
        try:
            carried.append(Name("sni", normalise_host(client.sni)))
        except HostError as e:
            raise BadName("sni", f"the TLS server name does not parse: {e}") from None
    if req.host_header:
        try:
            carried.append(Name("host", parse_authority(req.host_header)[0]))
        except HostError as e:
            raise BadName("host", f"the Host header does not parse: {e}") from None
    try:
        target = normalise_host(req.host)
    except HostError as e:
        raise BadName("url", f"the request's host does not parse: {e}") from None
    if explicit_mode(client):
        return distinct([Name("connect" if client.tls else "url", target), *carried])
    return distinct(carried) if carried else [Name("destination", target)]


BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def body_may_stream(flow: http.HTTPFlow) -> bool:
    """Whether mitmproxy may stream this request's body before the `request` hook:
    it said so already (a Content-Length over stream_large_bodies), or the length is
    unknown (chunked, or HTTP/2 and 3 without Content-Length), so mitmproxy would
    switch to streaming once the body passes the limit."""
    req = flow.request
    if req.stream:
        return True
    if "content-length" in req.headers:
        return False
    if "chunked" in req.headers.get("transfer-encoding", "").lower():
        return True
    return req.is_http2 or req.is_http3


def may_carry_body(flow: http.HTTPFlow) -> bool:
    req = flow.request
    return bool(req.stream) or req.method.upper() in BODY_METHODS or "transfer-encoding" in req.headers
