"""Memory: the worker's periodic `malloc_trim` (see addons/infra/memory.py for
why, and for the allocator settings made at process start)."""

from __future__ import annotations

import asyncio
import logging
import time

from addons.core.snapshot import Runtime
from addons.infra.memory import has_glibc, trim
from addons.infra.tasks import cancel, spawn

logger = logging.getLogger(__name__)

TRIM_INTERVAL = 60.0  # seconds


class Memory:
    """Calls `trim()` every TRIM_INTERVAL seconds while the proxy runs."""

    def __init__(self, runtime: Runtime, interval: float = TRIM_INTERVAL):
        self.runtime = runtime
        self.interval = interval
        self.trims = 0
        self._task: asyncio.Task[None] | None = None

    def running(self) -> None:
        if has_glibc():
            self._task = spawn(self._loop(), name="schoolgate memory trim")

    async def done(self) -> None:
        await cancel(self._task)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            start = time.perf_counter()
            released = trim()
            self.trims += 1
            logger.debug("malloc_trim: released=%s in %.1f ms", released, 1000 * (time.perf_counter() - start))
