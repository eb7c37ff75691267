"""ListUpdater: refreshes the list sources of blocklists/sources.yaml on their
schedule inside the running proxy. Downloads and conversions run in a worker
process; a new copy is picked up by PolicyLoader, which builds the new index
aside and swaps it in. Only one process of a host updates at a time."""

from __future__ import annotations

import asyncio
import concurrent.futures
import fcntl
import functools
import logging
import multiprocessing
import time
from dataclasses import asdict
from typing import Any

from addons.core.settings import Settings
from addons.core.snapshot import Runtime
from addons.infra.sources import due, lists_dir, read_status, update_source
from addons.infra.tasks import cancel, spawn

logger = logging.getLogger(__name__)

CHECK_SECONDS = 30.0


class ListUpdater:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self._task: asyncio.Task[Any] | None = None
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def running(self) -> None:
        self.publish_status()
        self._task = spawn(self._loop(), name="schoolgate list updater")

    async def done(self) -> None:
        await cancel(self._task)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def _loop(self) -> None:
        while True:
            try:
                if self.runtime.follower:  # the leader worker updates; followers follow its status
                    self.publish_status()
                else:
                    await self.update_due()
            except Exception:
                logger.exception("List update round failed; trying again later.")
            await asyncio.sleep(CHECK_SECONDS)

    def publish_status(self) -> None:
        snap, settings = self.runtime.snapshot, self.runtime.settings
        if snap is None or settings is None:
            return
        self.runtime.stats.sources = {s.name: asdict(read_status(settings, s.name)) for s in snap.sources
                                      if s.enabled}

    async def update_due(self, now: float | None = None, force: bool = False) -> list[str]:
        """Update every enabled source that is due; returns the names attempted."""
        snap = self.runtime.snapshot
        settings: Settings = self.runtime.settings
        if snap is None:
            return []
        now = time.time() if now is None else now
        todo = [s for s in snap.sources if s.enabled and (force or due(s, read_status(settings, s.name), now))]
        if not todo:
            return []
        lock_path = lists_dir(settings) / ".update.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return []  # another schoolgate process is updating
            if self._pool is None:
                self._pool = concurrent.futures.ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            loop = asyncio.get_running_loop()
            for src in todo:
                job = functools.partial(update_source, src, settings, snap.categories, force=force, now=now)
                await loop.run_in_executor(self._pool, job)
        self.publish_status()
        return [s.name for s in todo]
