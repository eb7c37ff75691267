"""ImageMatch: compares images with the authorities' image-hash lists of known
child-abuse material, for every group (staff and guests included), and
replaces a match with a neutral placeholder. Nothing can turn it off for a
group; it runs only while a hash list is loaded.

Each image response on an intercepted connection, up to `image_hash_max_bytes`
once decoded, gets its SHA-256 and MD5 (exact matches: the same bytes) and, from
`image_hash_min_bytes`, its PDQ perceptual hashes (resized, re-encoded, slightly
cropped, rotated or mirrored copies: within `image_pdq_threshold` bits). PDQ hashing runs in a worker
process and is cached by the image's SHA-256, so an image many children load is
decoded once. Only hashes are kept, never an image. An image is what its bytes
say (core.bodies.sniff_image), whatever its Content-Type: `<img>` draws a JPEG
sent as application/octet-stream. A PDQ hash longer than `scan_time_budget`
fails closed: students get the placeholder.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
from collections import OrderedDict

from mitmproxy import http

from addons.core.bodies import BadEncoding, TooLarge, decode, sniff_image
from addons.core.hashes import HashMatch, ImageCheck, match_image
from addons.core.model import (
    BLOCKED_KEY,
    CLIENT_KEY,
    HOLD_BODY_KEY,
    IMAGE_KEY,
    SELFTEST_KEY,
    VERDICT_KEY,
    Action,
    ClientInfo,
    Kind,
    Origin,
    Reason,
    Verdict,
)
from addons.core.settings import Settings
from addons.core.snapshot import Runtime
from addons.infra.imagehash import LOW_QUALITY, exact_hashes, image_size, pdq_of, warm_up
from addons.infra.memory import tuned_initializer

logger = logging.getLogger(__name__)

CACHE_SIZE = 8192
INLINE_EXACT_BYTES = 256_000  # larger bodies get their exact hashes in a thread (hashlib frees the GIL)
PLACEHOLDER_COLOUR = "#d9d9d9"


def placeholder(width: int | None = None, height: int | None = None) -> bytes:
    """A plain grey picture of the same size: no text, nothing alarming for a child."""
    w, h = min(width or 300, 4096), min(height or 150, 4096)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">'
            f'<rect width="100%" height="100%" fill="{PLACEHOLDER_COLOUR}"/></svg>').encode()


def match_verdict(match: HashMatch, base: Verdict | None, client: ClientInfo | None) -> Verdict:
    distance = f", {match.distance} bits" if match.kind == "pdq" else ""
    group = base.group if base else (client.group if client else "unknown")
    return Verdict(Action.BLOCK, Reason.ILLEGAL, group, base.grade if base else None, base.level if base else None,
                   category=match.category, categories=(match.category,),
                   rule=f"image-hash list {match.list_id}, entry {match.entry_id} ({match.kind}{distance}): "
                        "nothing unblocks it, for any group",
                   origin=Origin(match.list_id, match.line), matched=f"entry {match.entry_id}")


class ImageMatch:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self._cache: OrderedDict[str, tuple[tuple[int, ...], str]] = OrderedDict()  # sha256 → (PDQ, result)
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self.hashed = 0
        self.cache_hits = 0
        self.timeouts = 0

    def running(self) -> None:
        snap = self.runtime.snapshot
        if snap is not None and snap.hashes and self.runtime.settings.image_hash_workers > 0:
            self._start_pool().submit(warm_up)  # the worker starts now, not on the first image

    def _start_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=self.runtime.settings.image_hash_workers,
                mp_context=multiprocessing.get_context("spawn"), initializer=tuned_initializer, initargs=(warm_up,))
        return self._pool

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        response = flow.response
        if response is None or flow.error or flow.metadata.get(BLOCKED_KEY) or flow.metadata.get(SELFTEST_KEY):
            return
        snap = self.runtime.snapshot
        if snap is None or not snap.hashes:
            return
        settings: Settings = self.runtime.settings
        size = response.headers.get("content-length", "")
        if size.isdigit() and int(size) > settings.image_hash_max_bytes:
            if response.headers.get("content-type", "").strip().lower().startswith("image/"):
                flow.metadata[IMAGE_KEY] = ImageCheck("too_large")
            return
        # Any type: a listed image sent as application/octet-stream, text/plain or with no
        # type is still drawn by <img>. The bytes decide (core.bodies.sniff_image).
        flow.metadata[HOLD_BODY_KEY] = True

    async def response(self, flow: http.HTTPFlow) -> None:
        if not flow.metadata.pop(HOLD_BODY_KEY, False) or flow.response is None or flow.response.stream:
            return
        snap = self.runtime.snapshot
        if snap is None or not snap.hashes:
            return
        settings: Settings = self.runtime.settings
        declared = flow.response.headers.get("content-type", "").strip().lower()
        try:
            body = decode(flow.response.raw_content or b"", flow.response.headers.get("content-encoding", ""),
                          settings.image_hash_max_bytes)
        except TooLarge:
            if declared.startswith("image/"):
                flow.metadata[IMAGE_KEY] = ImageCheck("too_large")
                self.runtime.stats.limits["size"] += 1
            return
        except BadEncoding:
            body = flow.response.raw_content or b""
        if not body:
            return
        sniffed = sniff_image(body[:32])
        if sniffed is None and not declared.startswith("image/"):
            return  # not an image by its bytes nor by its label
        if len(body) > INLINE_EXACT_BYTES:
            sha256, md5 = await asyncio.to_thread(exact_hashes, body)
        else:
            sha256, md5 = exact_hashes(body)
        match = snap.hashes.match_exact(sha256, md5)
        result = "exact_only"
        pictured = sniffed is not None or not declared.startswith("image/svg")  # SVG is text
        if match is None and snap.hashes.pdq_count and len(body) >= settings.image_hash_min_bytes and pictured:
            try:
                pdq, result = await asyncio.wait_for(self.pdq(sha256, body), settings.scan_time_budget)
            except TimeoutError:
                self.timeouts += 1
                self.runtime.stats.limits["time"] += 1
                self._stop_pool()  # stuck on this image: the next one starts a new worker
                self.fail_closed(flow, settings.scan_time_budget)
                return
            except Exception:
                logger.exception("An image could not be hashed; it is delivered after its exact hashes only.")
                pdq, result = (), "unreadable"
            snap = self.runtime.snapshot or snap  # the lists may have been reloaded meanwhile
            if snap.hashes.large:
                match = await asyncio.to_thread(match_image, snap.hashes, sha256, md5, pdq,
                                                settings.image_pdq_threshold)
            else:
                match = match_image(snap.hashes, sha256, md5, pdq, settings.image_pdq_threshold)
        flow.metadata[IMAGE_KEY] = ImageCheck(result, match)
        if match is not None and flow.response is not None:
            self.replace(flow, match)

    def fail_closed(self, flow: http.HTTPFlow, budget: float) -> None:
        """An image that could not be hashed in time is not delivered to students."""
        client: ClientInfo | None = flow.metadata.get(CLIENT_KEY)
        snap = self.runtime.snapshot
        group = snap.policy.groups.get(client.group) if snap and client else None
        logger.warning("An image took longer than scan_time_budget (%.2f s) to hash.", budget)
        flow.metadata[IMAGE_KEY] = ImageCheck("timeout")
        if group is not None and group.kind is Kind.STAFF or flow.response is None:
            return
        verdict = Verdict(Action.BLOCK, Reason.ERROR, group.id if group else "unknown",
                          rule=f"the image took longer than {budget:g} s to check (scan_time_budget); "
                               "blocked (fail closed)")
        flow.metadata[VERDICT_KEY] = verdict
        flow.metadata[BLOCKED_KEY] = True
        flow.response = http.Response.make(200, placeholder(), {
            "Content-Type": "image/svg+xml", "Cache-Control": "no-store", "X-Schoolgate-Reason": "error"})

    async def pdq(self, sha256: str, body: bytes) -> tuple[tuple[int, ...], str]:
        """The image's PDQ hashes (none if it has no usable one) and how they were obtained."""
        cached = self._cache.get(sha256)
        if cached is not None:
            self._cache.move_to_end(sha256)
            self.cache_hits += 1
            return cached[0], "cached"
        pdq, quality, error = await self._run(body)
        self.hashed += 1
        result = "hashed" if pdq else ("low_quality" if quality or error.startswith(LOW_QUALITY) else "unreadable")
        if error:
            logger.debug("No PDQ hash for an image: %s", error)
        self._cache[sha256] = (pdq, result)
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return pdq, result

    async def _run(self, body: bytes) -> tuple[tuple[int, ...], int, str]:
        settings: Settings = self.runtime.settings
        if settings.image_hash_workers <= 0:
            return await asyncio.to_thread(pdq_of, body)
        pool = self._start_pool()
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, pdq_of, body)
        except concurrent.futures.process.BrokenProcessPool:
            logger.warning("The image-hashing worker stopped; hashing in the proxy until it restarts.")
            self._stop_pool()
            return await asyncio.to_thread(pdq_of, body)

    def replace(self, flow: http.HTTPFlow, match: HashMatch) -> None:
        assert flow.response is not None
        verdict = match_verdict(match, flow.metadata.get(VERDICT_KEY), flow.metadata.get(CLIENT_KEY))
        flow.metadata[VERDICT_KEY] = verdict
        flow.metadata[BLOCKED_KEY] = True
        flow.response = http.Response.make(200, placeholder(*image_size(flow.response.get_content(strict=False))), {
            "Content-Type": "image/svg+xml",
            "Cache-Control": "no-store",
            "X-Schoolgate-Reason": verdict.reason.value,
        })
        logger.warning("An image matched %s entry %s (%s); it was replaced.", match.list_id, match.entry_id,
                       match.kind)

    def _stop_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def done(self) -> None:
        self._stop_pool()
