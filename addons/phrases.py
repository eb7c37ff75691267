"""PhraseScan: scans text responses (HTML, plain text, JSON) under a size cap,
after decompression, with the weighted phrase lists, and blocks a page whose
score passes the group's threshold in a category the group blocks. Bodies that
are binary or over the cap are streamed through without buffering.

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
    Reason,
    Verdict,
)
from addons.core.phrases import ScanResult
from addons.core.settings import Settings
from addons.core.snapshot import Runtime, Snapshot
from addons.flowutil import block
from addons.infra.scanproc import ScanProcess, ScanProcessGone

logger = logging.getLogger(__name__)

SCAN_KEY = "schoolgate.scan"
TEXT_TYPES = ("text/html", "text/plain", "application/json", "application/xhtml+xml", "text/xml")
CACHE_SIZE = 4096


def content_type(response: http.Response) -> str:
    return response.headers.get("content-type", "").split(";", 1)[0].strip().lower()


class PhraseScan:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self._cache: OrderedDict[tuple[int, int], ScanResult] = OrderedDict()
        self._cache_version = ""
        self._phrases: tuple[Any, ...] = ()  # the phrase lists the cache and the scan worker were built from
        self._processes: list[ScanProcess] = []  # at most `scan_workers` (addons/infra/scanproc.py)
        self._stopping: list[ScanProcess] = []  # stopped, not yet waited for
        self.scanned = 0
        self.cache_hits = 0

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response is None or flow.error or flow.metadata.get(BLOCKED_KEY) or flow.metadata.get(SELFTEST_KEY):
            return
        settings: Settings = self.runtime.settings
        size = flow.response.headers.get("content-length")
        too_big = size is not None and size.isdigit() and int(size) > settings.scan_max_bytes
        if self._wants_scan(flow) and content_type(flow.response) in TEXT_TYPES and not too_big:
            flow.metadata[SCAN_KEY] = True
        elif too_big and not flow.response.stream and not flow.metadata.get(HOLD_BODY_KEY):
            flow.response.stream = True  # pass large bodies through without holding them

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
        if not flow.metadata.pop(SCAN_KEY, False) or flow.response is None or flow.response.stream:
            return
        snap = self.runtime.snapshot
        client: ClientInfo | None = flow.metadata.get(CLIENT_KEY)
        if snap is None or client is None or client.group not in snap.policy.groups:
            return
        group = snap.policy.groups[client.group]
        threshold = group.content.phrase_threshold
        if threshold is None:
            return
        try:
            result = await self.scan(flow.response, snap)
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

    async def scan(self, response: http.Response, snap: Snapshot) -> ScanResult:
        if snap.version != self._cache_version:
            self._cache_version = snap.version
            if snap.phrases.phrases != self._phrases:  # not on every policy edit: only new phrase lists
                self._phrases = snap.phrases.phrases
                self._cache.clear()
                self._stop_processes()  # the worker starts again with the new lists
        settings: Settings = self.runtime.settings
        raw = response.content or b""  # decoded (gzip, br, zstd) by mitmproxy
        raw = raw[: settings.scan_max_bytes]  # a body without Content-Length may be longer
        key = (xxh3_128_intdigest(raw), len(raw))
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            self.cache_hits += 1
            return cached
        ctype = response.headers.get("content-type", "")
        charset = ctype.partition("charset=")[2].split(";")[0].strip().strip('"')
        is_html = content_type(response) in ("text/html", "application/xhtml+xml", "text/xml")
        if settings.scan_workers > 0:
            process = self._process(settings.scan_workers, snap)
            try:
                result = await process.scan(raw, is_html, charset)
            except ScanProcessGone:
                logger.warning("The phrase-scanning process stopped; it starts again at the next page.")
                self._drop(process)
                result = snap.phrases.scan_body(raw, is_html, charset)
        else:
            result = snap.phrases.scan_body(raw, is_html, charset)
        self.scanned += 1
        self._cache[key] = result
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return result

    def _process(self, count: int, snap: Snapshot) -> ScanProcess:
        """The least busy scanning process, starting one if fewer than `count` run."""
        self._stopping = [p for p in self._stopping if not p.reap()]
        if len(self._processes) < count and all(p.pending for p in self._processes):
            self._processes.append(ScanProcess(snap.phrases.phrases))
        return min(self._processes, key=lambda p: p.pending)

    def _drop(self, process: ScanProcess) -> None:
        if process in self._processes:
            self._processes.remove(process)
            process.stop()
            self._stopping.append(process)

    def _stop_processes(self) -> None:
        for process in list(self._processes):
            self._drop(process)

    async def done(self) -> None:
        self._stop_processes()
        for process in self._stopping:
            await asyncio.to_thread(process.reap, 5.0)
        self._stopping = []
