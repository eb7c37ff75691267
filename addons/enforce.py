"""Enforce: decides every request with the core and answers blocked ones at once.

Every name the request carries (the target, the TLS server name, the Host header
or `:authority`) is decided; the strictest decision wins (core.layers). A Host
header that does not parse is a 400 for everyone.

Fails closed: if anything raises while deciding, the request is blocked with
reason `error` (unless the device is known to belong to a staff group) and the
error is logged. A later addon (BlockPage) turns the short 403 into a full page.
"""

from __future__ import annotations

import logging
import time

from mitmproxy import http

from addons.core.domains import normalise_host
from addons.core.layers import strictest
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
from addons.flowutil import BadName, block, request_names

logger = logging.getLogger(__name__)



def request_view(req: http.Request, host: str) -> RequestView:
    path, _, query = req.path.partition("?")
    return RequestView(normalise_host(host), path or "/", req.scheme, req.port, req.method, query)


def _error_verdict(client: ClientInfo | None, why: str = "") -> Verdict:
    group = client.group if client else "unknown"
    return Verdict(Action.BLOCK, Reason.ERROR, group,
                   rule=f"enforcement failed{': ' + why if why else ''}; blocked (fail closed)")


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
        except BadName as e:
            if e.layer == "host":  # for everyone: a server could read it another way than we did
                flow.response = http.Response.make(400, f"Bad request: {e}\n".encode(),
                                                   {"Content-Type": "text/plain; charset=utf-8"})
                return
            verdict = _error_verdict(client, str(e))
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
        """Every name the request carries is decided; the strictest wins (core.layers)."""
        if snapshot is None or client is None:
            raise RuntimeError("no policy snapshot or client identity for this request")
        if client.group not in snapshot.policy.groups:  # a reload landed in between
            client = ClientInfo(client.address, snapshot.client(client.address).group)
        group = snapshot.group(client.group)
        now = snapshot.now()
        req = flow.request
        overrides = self.runtime.overrides
        return strictest([(name, snapshot.decide(request_view(req, name.host), group, now, overrides))
                          for name in request_names(flow)])


def _is_staff(client: ClientInfo | None, snapshot: Snapshot | None) -> bool:
    try:
        return bool(client and snapshot and snapshot.group(client.group).kind is Kind.STAFF)
    except Exception:
        return False
