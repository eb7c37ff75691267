"""Enforce: decides every request with the core and answers blocked ones at once.

Fails closed: if anything raises while deciding, the request is blocked with
reason `error` (unless the device is known to belong to a staff group) and the
error is logged. A later addon (BlockPage) turns the short 403 into a full page.
"""

from __future__ import annotations

import logging
import time

from mitmproxy import http
from mitmproxy.net.http import url

from addons.core.domains import HostError, ip_literal, normalise_host
from addons.core.model import (
    CLIENT_KEY,
    DECISION_SECONDS_KEY,
    VERDICT_KEY,
    Action,
    ClientInfo,
    Kind,
    Reason,
    RequestView,
    Verdict,
)
from addons.core.snapshot import Runtime, Snapshot
from addons.flowutil import block

logger = logging.getLogger(__name__)



def request_view(req: http.Request, host: str) -> RequestView:
    path, _, query = req.path.partition("?")
    return RequestView(normalise_host(host), path or "/", req.scheme, req.port, req.method, query)


def _error_verdict(client: ClientInfo | None) -> Verdict:
    group = client.group if client else "unknown"
    return Verdict(Action.BLOCK, Reason.ERROR, group, rule="enforcement failed; blocked (fail closed)")


class Enforce:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live:
            return
        snapshot = self.runtime.snapshot
        client: ClientInfo | None = flow.metadata.get(CLIENT_KEY)
        start = time.perf_counter()
        try:
            verdict = self.decide(flow, snapshot, client)
            flow.metadata[DECISION_SECONDS_KEY] = time.perf_counter() - start
        except Exception:
            logger.exception("Enforcement failed; blocking the request (fail closed).")
            if _is_staff(client, snapshot):
                return  # staff devices are not cut off by a filter bug; the error is logged
            verdict = _error_verdict(client)
        if verdict.action is Action.BLOCK:
            block(flow, verdict)
            return
        flow.metadata[VERDICT_KEY] = verdict

    def decide(self, flow: http.HTTPFlow, snapshot: Snapshot | None, client: ClientInfo | None) -> Verdict:
        if snapshot is None or client is None:
            raise RuntimeError("no policy snapshot or client identity for this request")
        if client.group not in snapshot.policy.groups:  # a reload landed in between
            client = ClientInfo(client.address, snapshot.client(client.address).group)
        group = snapshot.group(client.group)
        now = snapshot.now()
        req = flow.request
        overrides = self.runtime.overrides
        names = request_names(flow)
        verdict = snapshot.decide(request_view(req, names[0]), group, now, overrides)
        # Domain fronting: the Host header or the TLS server name may name another site
        # than the one the request goes to. Decide on each name; block if any is blocked.
        for other in names[1:]:
            if verdict.action is not Action.ALLOW:
                break
            second = snapshot.decide(request_view(req, other), group, now, overrides)
            if second.action is Action.BLOCK:
                return second
        return verdict


def _name(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return normalise_host(url.parse_authority(value, check=False)[0])
    except (HostError, ValueError):
        return None


def request_names(flow: http.HTTPFlow) -> list[str]:
    """The names a request is decided on, the one it goes to first.

    In explicit-proxy mode the request names its target; the Host header and the
    TLS server name (SNI) must agree with it. In transparent mode the target is
    only an IP address: the request is decided on the names it carries, and on
    the address only when it carries none (a bare-IP connection).
    """
    req = flow.request
    target = normalise_host(req.host)
    names = [n for n in (_name(req.host_header), normalise_host(flow.client_conn.sni)
                         if flow.client_conn.sni else None) if n]
    if ip_literal(target) is not None and names and ip_literal(names[0]) is None:
        ordered = [names[0]] + [n for n in names[1:] if n != names[0]]
    else:
        ordered = [target] + [n for n in names if n != target]
    return list(dict.fromkeys(ordered))


def _is_staff(client: ClientInfo | None, snapshot: Snapshot | None) -> bool:
    try:
        return bool(client and snapshot and snapshot.group(client.group).kind is Kind.STAFF)
    except Exception:
        return False
