"""Exporter: inside the proxy, queues the department export of every period that
ends (aggregates only, signed) and delivers the outbox (exports and authority
reports) with retries, in a thread so that a slow department never holds up a
request. What it does is in addons.infra.export; `schoolgate export` does the same
by hand."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from addons.core import __version__
from addons.core.settings import Settings
from addons.core.snapshot import Runtime
from addons.infra import export
from addons.infra.tasks import cancel, spawn

logger = logging.getLogger(__name__)

CYCLE_SECONDS = 30.0


class Exporter:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.depth = 0
        self.last_delivered = 0.0
        self._task: asyncio.Task[Any] | None = None
        self._reported_down = False

    def running(self) -> None:
        if self.runtime.follower:
            return  # the leader worker exports for the whole proxy
        stats = self.runtime.stats
        stats.gauges["export_outbox_depth"] = lambda: self.depth
        stats.gauges["export_last_delivered"] = lambda: self.last_delivered
        self._task = spawn(self._loop(), name="schoolgate department export")

    async def done(self) -> None:
        await cancel(self._task)

    async def _loop(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.cycle)
            except Exception:
                logger.exception("The department export failed this time; it tries again.")
            await asyncio.sleep(CYCLE_SECONDS)

    def cycle(self, now: float | None = None) -> export.DeliveryResult | None:
        """One round: queue what is due, deliver what can be, update the outbox depth."""
        settings: Settings = self.runtime.settings
        now = time.time() if now is None else now
        result = None
        if settings.department_url and settings.school_id:
            snap = self.runtime.snapshot
            lists = [(m.path, m.category, m.entries, m.updated) for m in getattr(snap.lists, "sources", ())] \
                if snap is not None else []
            export.enqueue_due(settings.db_path, settings, now, version=__version__,
                               policy_version=snap.version if snap else "",
                               baseline_version=str(snap.info.get("baseline_version", "")) if snap else "",
                               lists=lists)
            result = export.deliver_due(settings.db_path, settings, now)
            if result.delivered:
                self.last_delivered = now
            if result.unreachable and not self._reported_down:
                logger.warning("The department is unreachable (%s). Exports wait in the outbox and are sent "
                               "when it answers again.", result.error)
                self._reported_down = True
            elif result.delivered and self._reported_down:
                logger.info("The department answers again; the outbox is being delivered.")
                self._reported_down = False
        self.depth = export.outbox_depth(settings.db_path)
        return result
