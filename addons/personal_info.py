"""PersonalInfo: before a child's form or JSON post carrying a phone number, a
citizen ID (CCCD), an e-mail or a home address leaves for a site that is not on
the group's allow list, show a warning the child can go back from or confirm.

Nothing about the values is logged or stored: only the kinds found are shown on
the warning. Confirming re-sends an ordinary form as it was (plus a token for
this device and site, valid about ten minutes, which the proxy removes); for
other posts it lets the child send again to that site for ten minutes, on
every proxy worker (`infra.bypass`: the store keeps a keyed hash of device and
site, not the site).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import sqlite3
import time
from dataclasses import replace
from urllib.parse import parse_qsl, urlencode

from mitmproxy import http

from addons.core.model import (
    CLIENT_KEY,
    PII_CONFIRM,
    PII_KEY,
    VERDICT_KEY,
    Action,
    ClientInfo,
    Kind,
    Reason,
    Verdict,
)
from addons.core.bodies import BadEncoding, decode
from addons.core.pii import MAX_BYTES, find_kinds
from addons.core.snapshot import Runtime
from addons.flowutil import block, flow_host
from addons.infra import bypass
from addons.infra.keys import shared_secret
from addons.infra.scanproc import ScanFailed, ScanPool, ScanProcessGone, ScanTimeout

logger = logging.getLogger(__name__)

CONFIRM_FIELD = PII_CONFIRM
BYPASS_SECONDS = 600
CONFIRM_KEY_FILE = "personal-info.key"
FORM = "application/x-www-form-urlencoded"
CHECKED_TYPES = (FORM, "multipart/form-data", "application/json", "text/plain")
INLINE_BYTES = 16_384  # posts smaller than this are checked in the proxy (well under a millisecond)


class PersonalInfo:
    def __init__(self, runtime: Runtime, pool: ScanPool | None = None):
        self.runtime = runtime
        self.pool = pool or ScanPool()  # the scanning processes, shared with PhraseScan
        self._secret = secrets.token_bytes(32)  # replaced by the shared one when running
        self._bypass: dict[str, float] = {}  # bypass key → until: this worker's copy of the store's

    def running(self) -> None:
        # Shared by every proxy worker: the confirmation may reach another process.
        self._secret = shared_secret(self.runtime.settings.data_path, CONFIRM_KEY_FILE).encode()

    def token(self, address: str, host: str, window: int | None = None) -> str:
        window = int(time.time() // BYPASS_SECONDS) if window is None else window
        mac = hmac.new(self._secret, f"{address}|{host}|{window}".encode(), hashlib.sha256)
        return mac.hexdigest()[:32]

    def _bypass_key(self, address: str, host: str) -> str:
        return hmac.new(self._secret, f"bypass|{address}|{host}".encode(), hashlib.sha256).hexdigest()[:32]

    def _bypassed(self, address: str, host: str) -> bool:
        """The child chose "send anyway" for this site in the last ten minutes, on any worker."""
        key = self._bypass_key(address, host)
        now = time.time()
        if self._bypass.get(key, 0) > now:
            return True
        until = bypass.allowed(self.runtime.settings.db_path, key, now)
        if until > now:
            self._bypass[key] = until
        return until > now

    def _valid(self, token: str, address: str, host: str) -> bool:
        now = int(time.time() // BYPASS_SECONDS)
        return any(hmac.compare_digest(token, self.token(address, host, w)) for w in (now, now - 1))

    async def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live:
            return
        client: ClientInfo | None = flow.metadata.get(CLIENT_KEY)
        verdict: Verdict | None = flow.metadata.get(VERDICT_KEY)
        if client is None or verdict is None or verdict.action is not Action.ALLOW:
            return
        host = flow_host(flow)
        confirm = flow.request.query.get(CONFIRM_FIELD)
        if confirm is not None and flow.request.method == "GET":
            self._confirm_link(flow, client, host, confirm)
            return
        if flow.request.method not in ("POST", "PUT", "PATCH"):
            return
        snap = self.runtime.snapshot
        group = snap.policy.groups.get(client.group) if snap else None
        if group is None or group.kind is Kind.STAFF or group.content.personal_info != "warn":
            return
        if verdict.reason in (Reason.ALLOWLIST, Reason.OVERRIDE):
            return  # a site the school chose
        ctype = flow.request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if ctype not in CHECKED_TYPES:
            return
        try:  # decoded streaming, at most what is checked: a gzip bomb costs nothing
            body = decode(flow.request.raw_content or b"", flow.request.headers.get("content-encoding", ""),
                          MAX_BYTES, truncate=True)
        except BadEncoding:
            body = flow.request.raw_content or b""
        if ctype == FORM and CONFIRM_FIELD.encode() in body:
            fields = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
            tokens = [v for k, v in fields if k == CONFIRM_FIELD]
            if tokens and self._valid(tokens[0], client.address, host):
                flow.request.text = urlencode([(k, v) for k, v in fields if k != CONFIRM_FIELD])
                return
        try:
            kinds = await self.kinds(body, ctype)
        except ScanTimeout:
            self.runtime.stats.limits["time"] += 1
            budget = self.runtime.settings.scan_time_budget
            logger.warning("A personal-information check took longer than scan_time_budget (%.2f s).", budget)
            block(flow, replace(verdict, action=Action.BLOCK, reason=Reason.ERROR,
                                rule=f"the personal-information check took longer than {budget:g} s "
                                     "(scan_time_budget); blocked (fail closed)", origin=None, matched=None))
            return
        if not kinds or self._bypassed(client.address, host):
            return
        token = self.token(client.address, host)
        form = None
        if ctype == FORM:
            form = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True) + [(CONFIRM_FIELD, token)]
        flow.metadata[PII_KEY] = {"kinds": kinds, "token": token, "form": form, "url": flow.request.url}
        block(flow, replace(verdict, action=Action.BLOCK, reason=Reason.PERSONAL_INFO,
                            rule=f"personal_info: warn ({', '.join(kinds)})",
                            origin=group.content.origin("personal_info"), matched=None))

    async def kinds(self, body: bytes, ctype: str) -> tuple[str, ...]:
        """core.pii.find_kinds off the event loop, in a scanning process, within the budget."""
        settings = self.runtime.settings
        snap = self.runtime.snapshot
        if settings.scan_workers <= 0 or snap is None or len(body) < INLINE_BYTES:
            return find_kinds(body, ctype)  # small posts: under a millisecond here
        process = self.pool.process(settings.scan_workers, snap.phrases.phrases)
        try:
            return await process.personal_info(body, ctype, settings.scan_time_budget)
        except ScanTimeout:
            self.pool.drop(process)
            raise
        except (ScanProcessGone, ScanFailed):
            self.pool.drop(process)
            return find_kinds(body, ctype)

    def _confirm_link(self, flow: http.HTTPFlow, client: ClientInfo, host: str, token: str) -> None:
        """The warning's 'send anyway' link for posts that cannot simply be re-sent."""
        if not self._valid(token, client.address, host):
            flow.response = http.Response.make(400, b"This link has expired. Go back and try again.\n",
                                               {"Content-Type": "text/plain; charset=utf-8"})
            return
        now = time.time()
        key = self._bypass_key(client.address, host)
        self._bypass = {k: v for k, v in self._bypass.items() if v > now}
        self._bypass[key] = now + BYPASS_SECONDS
        try:
            bypass.allow(self.runtime.settings.db_path, key, now + BYPASS_SECONDS, now)
        except sqlite3.Error as e:  # this worker still lets it through
            logger.warning("Could not share a personal-information bypass with the other workers: %s", e)
        page = ("<!doctype html><meta charset=utf-8><title>OK</title><body style='font-family:sans-serif;"
                "max-width:36rem;margin:3rem auto'><p>Em có thể quay lại và gửi lại trong 10 phút tới.</p>"
                "<p>You can go back and send it again within the next 10 minutes.</p>"
                "<p>&larr; Dùng nút Quay lại của trình duyệt / Use the browser's Back button.</p></body>")
        flow.response = http.Response.make(200, page.encode(), {"Content-Type": "text/html; charset=utf-8",
                                                                 "Cache-Control": "no-store"})
