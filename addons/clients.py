"""ClientIdentify: which group the device behind a connection belongs to."""

from __future__ import annotations

from mitmproxy import http

from addons.core.model import CLIENT_KEY, ClientInfo
from addons.core.snapshot import Runtime



class ClientIdentify:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live:
            return
        snapshot = self.runtime.snapshot
        if snapshot is None:
            return  # Enforce fails closed without a snapshot
        address = flow.client_conn.peername[0] if flow.client_conn.peername else ""
        match = snapshot.client(address)
        flow.metadata[CLIENT_KEY] = ClientInfo(
            address, match.group, match.range.name if match.range else None
        )
