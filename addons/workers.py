"""Workers: in the leader of `schoolgate run --workers N`, opens the channel the
followers send their incidents through and starts, restarts and stops the
followers (addons/infra/workers.py). Does nothing in a single process or a
follower. It comes before IncidentLog in the chain, so at shutdown the
followers have handed over everything before the writer closes."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from addons.core.snapshot import Runtime
from addons.infra.workers import Followers, Hub, follower_command

logger = logging.getLogger(__name__)


class Workers:
    def __init__(self, runtime: Runtime, argv: Sequence[str] = ()):
        self.runtime = runtime
        self.argv = list(argv)
        self.hub: Hub | None = None
        self.followers: Followers | None = None

    async def running(self) -> None:
        role = self.runtime.role
        if role is None or not role.leader or role.count < 2:
            return
        self.hub = Hub(role.socket, lambda: self.runtime.writer)
        await self.hub.start()
        self.runtime.worker_hub = self.hub
        self.followers = Followers(role, follower_command(self.argv), started=self.runtime.forked)
        self.followers.start()
        followers = self.followers
        self.runtime.stats.gauges["workers_alive"] = lambda: 1 + followers.alive
        logger.info("Started %d more proxy workers on the same address.", role.count - 1)

    async def done(self) -> None:
        if self.followers is not None:
            await self.followers.stop()
            self.followers = None
        if self.hub is not None:
            await self.hub.close()
            self.hub = None
