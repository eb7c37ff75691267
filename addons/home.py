"""HomeRules: the home gateway's per-child limits (profile `home` only).

Reads the parent's choices, pauses and "more time" from the store every second
(written by the dashboard's parent pages; an invalid version is refused and the
last good one stays), decides each request from a child's device with
core.home.decide_home after Enforce has allowed it, and counts minutes of use:
a minute counts for a service when the child's device made at least one allowed
request to it in that minute (docs/home.md). Minutes go to the store's Writer as
(day, child, service, minute) rows, so several proxy processes never count a
minute twice; each process merges today's rows from the store every second.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from mitmproxy import http

from addons.core.errors import Collector
from addons.core.home import (
    EMPTY_HOME,
    NO_CONTROLS,
    Controls,
    Home,
    Usage,
    canonical_address,
    day_and_minute,
    decide_home,
    parse_home,
)
from addons.core.model import BLOCKED_KEY, CLIENT_KEY, VERDICT_KEY, Action, ClientInfo, Origin, Reason, Verdict
from addons.core.services import Services
from addons.core.settings import Settings
from addons.core.snapshot import Runtime
from addons.flowutil import block, flow_host
from addons.infra import home_store
from addons.infra.clock import from_env
from addons.infra.store import migrate
from addons.infra.tasks import cancel, spawn

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0
MAINTENANCE_SECONDS = 3600.0
HOME_NOTE = "home"  # in Verdict.notes: a parent's limit (BlockPage shows the home page)
SERVICE_REASONS = {Reason.SERVICE, Reason.BUDGET, Reason.HOMEWORK, Reason.SCHEDULE}


class HomeRules:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.home: Home = EMPTY_HOME
        self.controls: Controls = NO_CONTROLS
        self.usage = Usage()
        self.config_id = 0  # the version in force
        self._seen_id = 0  # the newest version looked at (refused ones included)
        self._raw: Any = None
        self._services: Services | None = None
        self._task: asyncio.Task[Any] | None = None
        self._maintained = 0.0

    @property
    def enabled(self) -> bool:
        settings: Settings | None = self.runtime.settings
        return settings is not None and settings.profile == "home"

    def running(self) -> None:
        if not self.enabled:
            return
        self.runtime.clock = from_env()
        self.start()
        self._task = spawn(self._loop(), name="schoolgate home rules")

    def start(self) -> None:
        """The store's state at start: the parent's choices, controls, today's minutes."""
        migrate(self.runtime.settings.db_path)
        self.apply(*self.read())

    async def done(self) -> None:
        await cancel(self._task)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                self.apply(*await asyncio.to_thread(self.read))
                await self.maintain()
            except Exception:
                logger.exception("Could not read the home settings; the previous ones stay in force.")

    def now(self) -> datetime:
        settings: Settings = self.runtime.settings
        return datetime.fromtimestamp(self.runtime.clock(), settings.zone)

    def read(self) -> tuple[list[tuple[int, Any]], list[Any], str, list[tuple[str, str, int]]]:
        db = self.runtime.settings.db_path
        now = self.now()
        day = day_and_minute(now)[0]
        versions = home_store.config_versions(db, after=self._seen_id)
        return versions, home_store.active_controls(db, now.timestamp()), day, home_store.usage_minutes(db, day)

    def apply(self, versions: list[tuple[int, Any]], controls: list[Any], day: str,
              rows: list[tuple[str, str, int]]) -> None:
        snapshot = self.runtime.snapshot
        if snapshot is None:
            return  # no policy yet: nothing to validate the parent's choices against; read again later
        services = snapshot.services
        if versions:
            self._seen_id = versions[0][0]
            for vid, raw in versions:  # the newest valid version wins
                errors = Collector()
                home = parse_home(raw, services, errors) if raw is not None else None
                if home is not None and not errors.errors:
                    if vid != self.config_id:
                        self._set(home, vid, raw, services)
                    break
                logger.warning("Home settings version %d refused; the previous ones stay in force:\n%s", vid,
                               "\n".join(str(e) for e in errors.errors) or "not JSON")
        elif services is not self._services and self._raw is not None:
            errors = Collector()
            home = parse_home(self._raw, services, errors)  # the service catalogue changed
            if not errors.errors:
                self._set(home, self.config_id, self._raw, services)
        self.controls = Controls(controls)
        self.usage.merge(day, rows)

    def _set(self, home: Home, vid: int, raw: Any, services: Services) -> None:
        self.home, self.config_id, self._raw, self._services = home, vid, raw, services
        clients: dict[str, str] = {}
        for child in home.children.values():
            for address in child.devices:
                clients[address] = child.level
                if ":" not in address:
                    clients[f"::ffff:{address}"] = child.level
        self.runtime.home_clients = clients
        logger.info("Home settings version %d in force: %d children, %d devices.", vid, len(home.children),
                    len(home.devices))

    async def maintain(self) -> None:
        writer = self.runtime.writer
        if self.runtime.follower:
            return  # the leader worker keeps the store
        if writer is None or self.runtime.clock() - self._maintained < MAINTENANCE_SECONDS:
            return
        settings: Settings = self.runtime.settings
        now = self.now()
        self._maintained = now.timestamp()
        keep = (now - timedelta(days=settings.home_history_days)).date().isoformat()
        since = int(now.timestamp()) - settings.client_address_retention_days * 86400
        removed = await writer.home_maintenance(now.date().isoformat(), keep, since)
        if any(removed.values()):
            logger.info("Home retention: %s.", ", ".join(f"{v} {k}" for k, v in removed.items() if v))

    # -- hooks ---------------------------------------------------------------------------
    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live or not self.enabled:
            return
        client: ClientInfo | None = flow.metadata.get(CLIENT_KEY)
        if client is None or client.selftest:
            return
        try:
            self.decide(flow, client)
        except Exception:
            logger.exception("Home rules failed; blocking the request (fail closed).")
            verdict = Verdict(Action.BLOCK, Reason.ERROR, client.group, rule="home rules failed; blocked (fail closed)")
            block(flow, verdict)

    def decide(self, flow: http.HTTPFlow, client: ClientInfo) -> None:
        now = self.now()
        day, minute = day_and_minute(now)
        writer = self.runtime.writer
        address = canonical_address(client.address)
        if writer is not None and address:
            writer.seen_device(address, int(now.timestamp()))
        child = self.home.child_for(client.address)
        verdict: Verdict | None = flow.metadata.get(VERDICT_KEY)
        if child is None or verdict is None or verdict.action is not Action.ALLOW:
            return
        snapshot = self.runtime.snapshot
        if snapshot is None:
            raise RuntimeError("no snapshot")
        self.usage.roll(day)  # budgets reset at local midnight
        hit = snapshot.services.match(flow_host(flow), verdict.categories)
        decision = decide_home(child, hit, snapshot.services, now, self.usage, self.controls)
        if decision is not None:
            service = snapshot.services.by_id.get(decision.service or "")
            block(flow, Verdict(Action.BLOCK, decision.reason, verdict.group, verdict.grade, verdict.level,
                                category=service.category if service else None, categories=verdict.categories,
                                rule=decision.rule, origin=Origin("home settings"), matched=decision.service,
                                notes=(HOME_NOTE,), until=decision.until))
            return
        for service_id in hit:
            if self.usage.record(child.id, service_id, now) and writer is not None:
                writer.add_usage(day, child.id, service_id, minute)

    def response(self, flow: http.HTTPFlow) -> None:
        """Count a child's blocks by reason and category or service, for the weekly summary."""
        if not self.enabled or not flow.metadata.get(BLOCKED_KEY) or flow.metadata.get("schoolgate.home_counted"):
            return
        client: ClientInfo | None = flow.metadata.get(CLIENT_KEY)
        verdict: Verdict | None = flow.metadata.get(VERDICT_KEY)
        writer = self.runtime.writer
        child = self.home.child_for(client.address) if client else None
        if child is None or verdict is None or writer is None:
            return
        flow.metadata["schoolgate.home_counted"] = True
        what = verdict.category or (verdict.matched if verdict.reason in SERVICE_REASONS and verdict.matched else "")
        writer.count_home_block(day_and_minute(self.now())[0], child.id, verdict.reason.value, what or "")
