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
from pathlib import Path

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
        await self._check_credentials(flow)
        self._proxy_auth(flow)

    async def requestheaders(self, flow: http.HTTPFlow) -> None:
        """Plain HTTP through the explicit proxy: every request carries them."""
        await self._check_credentials(flow)

    async def _check_credentials(self, flow: http.HTTPFlow) -> None:
        """Verify Proxy-Authorization once per 10 minutes, off the event loop: an
        Argon2 check takes tens of milliseconds and 64 MiB, and the failure count
        is in the store."""
        settings: Settings = self.runtime.settings
        header = flow.request.headers.get("Proxy-Authorization")
        if header is None or settings is None or not settings.proxy_auth or self._cached(header) is not None:
            return
        address = flow.client_conn.peername[0] if flow.client_conn.peername else ""
        if await asyncio.to_thread(_verify, settings.db_path, address, header):
            self._auth_cache[_key(header)] = (STAFF_GROUP, time.time() + AUTH_CACHE_SECONDS)

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

    def _cached(self, header: str) -> str | None:
        hit = self._auth_cache.get(_key(header))
        return hit[0] if hit and hit[1] > time.time() else None

    def _proxy_auth(self, flow: http.HTTPFlow) -> None:
        """Apply Proxy-Authorization, verified by `_check_credentials` before."""
        settings: Settings = self.runtime.settings
        header = flow.request.headers.pop("Proxy-Authorization", None)
        if header is None or settings is None or not settings.proxy_auth:
            return
        group = self._cached(header)
        if group is None:
            flow.response = http.Response.make(
                407, b"Proxy sign-in failed. / Dang nhap proxy khong thanh cong.\n",
                {"Proxy-Authenticate": 'Basic realm="schoolgate"', "Content-Type": "text/plain; charset=utf-8"})
            return
        self.runtime.conn_groups[flow.client_conn.id] = group


def _key(header: str) -> str:
    return hashlib.sha256(header.encode()).hexdigest()


def _verify(db: Path, address: str, header: str) -> bool:
    """True if the credentials are a staff account's (runs in a thread). A device
    that failed too often (on any worker, or on the sign-in page) is refused unchecked."""
    name, password = _basic(header)
    if not name or signins.too_many_failures(db, address):
        return False
    if accounts.authenticate(db, name, password) is None:
        signins.record_failure(db, address)  # counted over every proxy worker
        logger.warning("Proxy sign-in failed for %r.", name)
        return False
    signins.clear_failures(db, address)
    return True


def _basic(header: str) -> tuple[str, str]:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        user, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    return user, password
