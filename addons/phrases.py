"""PhraseScan: scans text responses (HTML, plain text, JSON, and pages sent with no
type or a generic one that look like HTML to a browser: WHATWG sniffing) with the
weighted phrase lists, and blocks a page whose score passes the group's threshold
in a category the group blocks. Bodies are decoded streaming, at most their first
`scan_max_bytes` (a gzip bomb costs no more). A scan longer than
`scan_time_budget` blocks the page for students (fail closed). Bodies that nobody
reads are streamed through without being held.

Which pages are scanned is the group's `scan_pages`: `uncategorised` (sites on
no list, the default: known sites are decided by their category), `all`, or
`off`. Results are cached by the body's hash, so a page many children load is
scanned once. Scanning runs in a separate process (setting `scan_workers`,
addons/infra/scanproc.py), so a page being scanned never holds up the proxy's
other connections."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any

from mitmproxy import http
from xxhash import xxh3_128_intdigest

from addons.core.decide import blocked_now, content_verdict
from addons.core.model import (
    BLOCKED_KEY,
    CLIENT_KEY,
    HOLD_BODY_KEY,
    SELFTEST_KEY,
    VERDICT_KEY,
    Action,
    ClientInfo,
    Kind,
    Reason,
    Verdict,
)
from addons.core.bodies import GENERIC_TYPES, BadEncoding, decode, looks_like_html
from addons.core.phrases import ScanResult
from addons.core.settings import Settings
from addons.core.snapshot import Runtime, Snapshot
from addons.flowutil import block
from addons.infra.scanproc import ScanPool, ScanProcessGone, ScanTimeout

logger = logging.getLogger(__name__)

SCAN_KEY = "schoolgate.scan"
TEXT_TYPES = ("text/html", "text/plain", "application/json", "application/xhtml+xml", "text/xml")
CACHE_SIZE = 4096


def content_type(response: http.Response) -> str:
    return response.headers.get("content-type", "").split(";", 1)[0].strip().lower()


class PhraseScan:
    def __init__(self, runtime: Runtime, pool: ScanPool | None = None):
        self.runtime = runtime
        self.pool = pool or ScanPool()  # shared with PersonalInfo (addons/schoolgate.py)
        self._cache: OrderedDict[tuple[int, int], ScanResult] = OrderedDict()
        self._phrases: tuple[Any, ...] = ()  # the phrase lists the cache was built from
        self.scanned = 0
        self.cache_hits = 0
        self.limits = runtime.stats.limits  # pages cut at scan_max_bytes, scans past scan_time_budget

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response is None or flow.error or flow.metadata.get(BLOCKED_KEY) or flow.metadata.get(SELFTEST_KEY):
            return
        settings: Settings = self.runtime.settings
        ctype = content_type(flow.response)
        size = flow.response.headers.get("content-length", "")
        held = not size.isdigit() or int(size) <= settings.hold_max_bytes  # mitmproxy streams larger ones
        if held and self._wants_scan(flow) and (ctype in TEXT_TYPES or ctype in GENERIC_TYPES):
            flow.metadata[SCAN_KEY] = ctype in TEXT_TYPES or "sniff"  # "sniff": a page only if it looks like one
        elif not flow.response.stream and not flow.metadata.get(HOLD_BODY_KEY):
            flow.response.stream = True  # nobody reads this body: pass it through without holding it

    def _wants_scan(self, flow: http.HTTPFlow) -> bool:
        verdict: Verdict | None = flow.metadata.get(VERDICT_KEY)
        client: ClientInfo | None = flow.metadata.get(CLIENT_KEY)
        snap = self.runtime.snapshot
        if verdict is None or verdict.action is not Action.ALLOW or client is None or snap is None:
            return False
        if not snap.phrases.count:
            return False
        group = snap.policy.groups.get(client.group)
        if group is None or group.content.phrase_threshold is None or group.content.scan_pages == "off":
            return False
        if verdict.reason is Reason.ALLOWLIST or verdict.reason is Reason.OVERRIDE:
            return False  # a site adults chose explicitly is not second-guessed
        return group.content.scan_pages == "all" or not verdict.categories

    async def response(self, flow: http.HTTPFlow) -> None:
        how = flow.metadata.pop(SCAN_KEY, False)
        if not how or flow.response is None or flow.response.stream:
            return
        snap = self.runtime.snapshot
        client: ClientInfo | None = flow.metadata.get(CLIENT_KEY)
        if snap is None or client is None or client.group not in snap.policy.groups:
            return
        group = snap.policy.groups[client.group]
        threshold = group.content.phrase_threshold
        if threshold is None:
            return
        settings: Settings = self.runtime.settings
        try:
            raw = body_of(flow.response, settings.scan_max_bytes)
        except BadEncoding:
            raw = flow.response.raw_content or b""  # scanned as sent: a broken coding hides nothing
        if len(raw) >= settings.scan_max_bytes:
            self.limits["size"] += 1
        if how == "sniff" and not looks_like_html(raw[:512]):
            return  # not a page a browser would render
        try:
            result = await self.scan(flow.response, snap, raw, how == "sniff")
        except ScanTimeout:
            self.limits["time"] += 1
            logger.warning("A page scan took longer than scan_time_budget (%.2f s).", settings.scan_time_budget)
            if group.kind is not Kind.STAFF:
                block(flow, Verdict(Action.BLOCK, Reason.ERROR, group.id, group.grade, group.level,
                                    rule=f"the page scan took longer than {settings.scan_time_budget:g} s "
                                         "(scan_time_budget); blocked (fail closed)"))
            return
        except Exception:
            logger.exception("Phrase scanning failed; the page is delivered unscanned.")
            return
        over = result.over(threshold, blocked_now(group, snap.now()))
        if not over or flow.response is None:
            return
        safeguarding = [c for c, _ in over if c in snap.categories.safeguarding]
        reason = Reason.SAFEGUARDING if safeguarding else Reason.PHRASE
        top = safeguarding[0] if safeguarding else over[0][0]
        block(flow, content_verdict(group, reason, top, tuple(c for c, _ in over), "page text", threshold,
                                    group.content.origin("phrase_threshold")))

    async def scan(self, response: http.Response, snap: Snapshot, raw: bytes | None = None,
                   sniffed_html: bool = False) -> ScanResult:
        if snap.phrases.phrases is not self._phrases:
            if snap.phrases.phrases != self._phrases:  # not on every policy edit: only new phrase lists
                self._cache.clear()
            self._phrases = snap.phrases.phrases
        settings: Settings = self.runtime.settings
        if raw is None:
            raw = body_of(response, settings.scan_max_bytes)
        key = (xxh3_128_intdigest(raw), len(raw))
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            self.cache_hits += 1
            return cached
        ctype = response.headers.get("content-type", "")
        charset = ctype.partition("charset=")[2].split(";")[0].strip().strip('"')
        is_html = sniffed_html or content_type(response) in ("text/html", "application/xhtml+xml", "text/xml")
        if settings.scan_workers > 0:
            process = self.pool.process(settings.scan_workers, snap.phrases.phrases)
            try:
                result = await process.scan(raw, is_html, charset, settings.scan_time_budget)
            except ScanTimeout:
                self.pool.drop(process)  # it is stuck on this page: the next page starts another
                raise
            except ScanProcessGone:
                logger.warning("The phrase-scanning process stopped; it starts again at the next page.")
                self.pool.drop(process)
                result = snap.phrases.scan_body(raw, is_html, charset)
        else:
            result = snap.phrases.scan_body(raw, is_html, charset)
        self.scanned += 1
        self._cache[key] = result
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return result

    async def done(self) -> None:
        await self.pool.close()


def body_of(message: http.Message, cap: int) -> bytes:
    """A body decoded (Content-Encoding undone), at most its first `cap` bytes."""
    return decode(message.raw_content or b"", message.headers.get("content-encoding", ""), cap, truncate=True)
