"""ClientIdentify: which group the device behind a connection belongs to.

In order: a proxy connection signed in with Proxy-Authorization (setting
`proxy_auth`, explicit-proxy mode: staff accounts get the staff policy on that
connection), a device signed in on the reserved host, the address's range in
clients.yaml, the `default` group.

`schoolgate selftest` may ask for another group with the header
`X-Schoolgate-Selftest: <token> <group>`; the token is a secret in the data
directory, compared in constant time. Neither header ever leaves the proxy.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import logging
import time

from mitmproxy import http

from addons.core.model import CLIENT_KEY, SELFTEST_HEADER, SELFTEST_KEY, ClientInfo
from addons.core.settings import Settings
from addons.core.snapshot import Runtime, identify
from addons.infra import accounts, signins
from addons.infra.keys import selftest_token

logger = logging.getLogger(__name__)

AUTH_CACHE_SECONDS = 600
STAFF_GROUP = "staff"


class ClientIdentify:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self._token: str | None = None
        self._auth_cache: dict[str, tuple[str, float]] = {}  # sha256(header) → (group, expiry)

    def running(self) -> None:
        settings: Settings = self.runtime.settings
        self._token = selftest_token(settings.data_path)

    async def http_connect(self, flow: http.HTTPFlow) -> None:
        """HTTPS through the explicit proxy: the CONNECT carries the credentials."""
        header = flow.request.headers.get("Proxy-Authorization")
        if header is not None and self._cached(flow, header) is None:
            settings: Settings = self.runtime.settings
            name, password = _basic(header)
            user = await asyncio.to_thread(accounts.authenticate, settings.db_path, name, password) if name else None
            self._verified(flow, header, user)
        self._proxy_auth(flow)

    def client_disconnected(self, client) -> None:  # type: ignore[no-untyped-def]
        self.runtime.conn_groups.pop(client.id, None)

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live:
            return
        self._proxy_auth(flow)
        if flow.response:
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
        flow.metadata[CLIENT_KEY] = identify(snapshot, self.runtime, address, flow.client_conn.id)

    def _cached(self, flow: http.HTTPFlow, header: str) -> str | None:
        hit = self._auth_cache.get(hashlib.sha256(header.encode()).hexdigest())
        return hit[0] if hit and hit[1] > time.time() else None

    def _verified(self, flow: http.HTTPFlow, header: str, user: accounts.User | None) -> None:
        address = flow.client_conn.peername[0] if flow.client_conn.peername else ""
        db = self.runtime.settings.db_path
        if user is None:
            signins.record_failure(db, address)  # counted over every proxy worker
            logger.warning("Proxy sign-in failed for %r.", _basic(header)[0])
            return
        signins.clear_failures(db, address)
        self._auth_cache[hashlib.sha256(header.encode()).hexdigest()] = (STAFF_GROUP, time.time() + AUTH_CACHE_SECONDS)

    def _proxy_auth(self, flow: http.HTTPFlow) -> None:
        """Apply Proxy-Authorization (plain HTTP requests are verified here, once per 10 minutes)."""
        settings: Settings = self.runtime.settings
        header = flow.request.headers.pop("Proxy-Authorization", None)
        if header is None or settings is None or not settings.proxy_auth:
            return
        address = flow.client_conn.peername[0] if flow.client_conn.peername else ""
        group = self._cached(flow, header)
        if group is None:
            name, password = _basic(header)
            blocked = signins.too_many_failures(settings.db_path, address)
            user = accounts.authenticate(settings.db_path, name, password) if name and not blocked else None
            self._verified(flow, header, user)
            group = self._cached(flow, header)
        if group is None:
            flow.response = http.Response.make(
                407, b"Proxy sign-in failed. / Dang nhap proxy khong thanh cong.\n",
                {"Proxy-Authenticate": 'Basic realm="schoolgate"', "Content-Type": "text/plain; charset=utf-8"})
            return
        self.runtime.conn_groups[flow.client_conn.id] = group


def _basic(header: str) -> tuple[str, str]:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        user, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    return user, password
