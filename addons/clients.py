"""ClientIdentify: which group the device behind a connection belongs to.

`schoolgate selftest` may ask for another group with the header
`X-Schoolgate-Selftest: <token> <group>`; the token is a secret in the data
directory, compared in constant time. The header never leaves the proxy.
"""

from __future__ import annotations

import hmac

from mitmproxy import http

from addons.core.model import CLIENT_KEY, SELFTEST_HEADER, SELFTEST_KEY, ClientInfo
from addons.core.settings import Settings
from addons.core.snapshot import Runtime
from addons.infra.keys import selftest_token


class ClientIdentify:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self._token: str | None = None

    def running(self) -> None:
        settings: Settings = self.runtime.settings
        self._token = selftest_token(settings.data_path)

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live:
            return
        snapshot = self.runtime.snapshot
        if snapshot is None:
            return  # Enforce fails closed without a snapshot
        address = flow.client_conn.peername[0] if flow.client_conn.peername else ""
        claim = flow.request.headers.pop(SELFTEST_HEADER, None)
        if claim is not None and self._token:
            token, _, group = claim.partition(" ")
            if hmac.compare_digest(token.encode(), self._token.encode()) and group in snapshot.policy.groups:
                flow.metadata[SELFTEST_KEY] = True
                flow.metadata[CLIENT_KEY] = ClientInfo(address, group, "selftest", selftest=True)
                return
        match = snapshot.client(address)
        flow.metadata[CLIENT_KEY] = ClientInfo(
            address, match.group, match.range.name if match.range else None
        )
