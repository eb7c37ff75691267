"""OverrideWatcher: reads teachers' overrides (focus mode, unblocked sites) and
staff sign-ins from the store every second, so a change from the CLI, the
dashboard or another proxy worker applies within seconds; expired ones drop out
by themselves."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from addons.core.overrides import Overrides
from addons.core.settings import Settings
from addons.core.snapshot import Runtime
from addons.infra import signins
from addons.infra.overrides_store import active
from addons.infra.tasks import cancel, spawn

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0


class OverrideWatcher:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self._task: asyncio.Task[Any] | None = None

    def running(self) -> None:
        self._task = spawn(self._loop(), name="schoolgate override watcher")

    async def done(self) -> None:
        await cancel(self._task)

    async def _loop(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:
                logger.exception("Could not read overrides; the previous ones stay in force.")
            await asyncio.sleep(POLL_SECONDS)

    async def refresh(self) -> bool:
        """Publish the overrides in force; True if they changed."""
        settings: Settings = self.runtime.settings
        items = await asyncio.to_thread(active, settings.db_path)
        self.runtime.signins = await asyncio.to_thread(signins.active, settings.db_path)
        current = self.runtime.overrides
        if tuple(items) == current.items:
            return False
        self.runtime.overrides = Overrides(items)
        logger.info("Overrides in force: %d.", len(items))
        return True
