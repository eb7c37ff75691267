"""IncidentLog: turns final verdicts into minimal incidents and hourly counts,
written by the store's single writer; runs retention and key rotation.

A match on a locked list (known child-abuse material) is a critical alert that
is never dropped, and queues a report for the authorities in the outbox."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Any

from mitmproxy import http, tcp

from addons.core import __version__
from addons.core.domains import HostError, normalise_host
from addons.core.hashes import ImageCheck
from addons.core.model import (
    CLIENT_KEY,
    IMAGE_KEY,
    SELFTEST_KEY,
    VERDICT_KEY,
    Action,
    ClientInfo,
    Reason,
    Verdict,
)
from addons.core.outbox import OutboxItem, ReportDeduper, authority_report
from addons.core.privacy import (
    Incident,
    IncidentKind,
    Pseudonymizer,
    Severity,
    block_incident,
    traffic_key,
)
from addons.core.settings import Settings
from addons.core.snapshot import Runtime
from addons.infra.keys import load_or_rotate
from addons.infra.store import Writer
from addons.infra.tasks import cancel, spawn
from addons.infra.workers import RemoteWriter

logger = logging.getLogger(__name__)

LOGGED_KEY = "schoolgate.logged"
MAINTENANCE_SECONDS = 3600.0
KEY_CHECK_SECONDS = 60.0
POLICY_WATCH_SECONDS = 1.0


class IncidentLog:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.writer: Writer | RemoteWriter | None = None
        self.pseudonymize: Pseudonymizer | None = None
        self._task: asyncio.Task[Any] | None = None
        self._seen_version: str | None = None
        self._seen_failures = 0
        self._seen_overrides: set[int] = set()
        self.reported = ReportDeduper()

    async def running(self) -> None:
        settings: Settings = self.runtime.settings
        if self.runtime.follower:  # the leader worker writes; this process sends it its incidents
            self.writer = RemoteWriter(self.runtime.role, batch_seconds=settings.incident_batch_seconds,
                                       max_queue=settings.incident_queue_size,
                                       metrics_port=lambda: self.runtime.stats.metrics_port)
        else:
            self.writer = Writer(settings.db_path, batch_seconds=settings.incident_batch_seconds,
                                 max_queue=settings.incident_queue_size, version=__version__)
        await self.writer.start()
        self.runtime.writer = self.writer
        self.pseudonymize = load_or_rotate(settings.data_path, settings.pseudonym_rotation_days)
        writer = self.writer
        self.runtime.writer = writer  # shared: other addons write through the one writer
        self.runtime.stats.gauges["incident_queue_depth"] = lambda: writer.queue_depth
        self.runtime.stats.gauges["incidents_dropped"] = lambda: writer.dropped
        self._task = spawn(self._maintenance(), name="schoolgate retention and key rotation")

    async def done(self) -> None:
        await cancel(self._task)
        if self.writer is not None:
            await self.writer.close()  # SIGTERM: everything queued is written first
            self.writer = self.runtime.writer = None

    async def _maintenance(self) -> None:
        last = key_checked = time.monotonic()
        await self.maintain()
        settings: Settings = self.runtime.settings
        while True:
            now = time.monotonic()
            if now - last >= MAINTENANCE_SECONDS:
                await self.maintain()
                last = key_checked = now
            elif now - key_checked >= KEY_CHECK_SECONDS:
                # Every worker process uses the key the first one to notice rotated to.
                self.pseudonymize = load_or_rotate(settings.data_path, settings.pseudonym_rotation_days)
                key_checked = now
            if not self.runtime.follower:  # one record per change, from the leader
                self.note_policy_changes()
            await asyncio.sleep(POLICY_WATCH_SECONDS)

    def note_policy_changes(self) -> None:
        """Record each policy version the proxy switched to, and each refused edit."""
        snap = self.runtime.snapshot
        stats = self.runtime.stats
        if self.writer is None or snap is None:
            return
        now = int(time.time())
        if self._seen_version is None:
            self._seen_version, self._seen_failures = snap.version, stats.reload_failures
            return
        if snap.version != self._seen_version:
            self._seen_version = snap.version
            self.writer.add_incident(Incident(now, IncidentKind.POLICY, Severity.INFO, "*", None, None,
                                              "reloaded", detail=f"version {snap.version}"))
        ids = self.runtime.overrides.ids
        for o in self.runtime.overrides.items:
            if o.id not in self._seen_overrides:
                self.writer.add_incident(Incident(now, IncidentKind.OVERRIDE, Severity.INFO, o.group, None, None,
                                                  f"{o.kind} started",
                                                  detail=f"#{o.id} by {o.created_by} until {o.ends}"))
        for oid in self._seen_overrides - ids:
            self.writer.add_incident(Incident(now, IncidentKind.OVERRIDE, Severity.INFO, "*", None, None,
                                              "ended", detail=f"#{oid}"))
        self._seen_overrides = set(ids)
        if stats.reload_failures != self._seen_failures:
            self._seen_failures = stats.reload_failures
            self.writer.add_incident(Incident(now, IncidentKind.POLICY, Severity.INFO, "*", None, None,
                                              "refused", detail=f"version {snap.version} kept"))

    async def maintain(self, now: float | None = None) -> dict[str, int]:
        settings: Settings = self.runtime.settings
        now = time.time() if now is None else now
        self.pseudonymize = load_or_rotate(settings.data_path, settings.pseudonym_rotation_days, now)
        assert self.writer is not None
        removed = await self.writer.retention(
            int(now), incident_days=settings.incident_retention_days,
            alert_days=settings.alert_retention_days, traffic_days=settings.traffic_retention_days,
            address_days=settings.client_address_retention_days)
        if any(removed.values()):
            logger.info("Retention: removed %s.", ", ".join(f"{v} {k}" for k, v in removed.items() if v))
        return removed

    def authority_report(self, verdict: Verdict, host: str, flow: http.HTTPFlow | tcp.TCPFlow, now: int
                         ) -> OutboxItem | None:
        """The report for the authorities of a locked-list match; one per list entry and
        host a day (each match is still its own incident)."""
        check: ImageCheck | None = flow.metadata.get(IMAGE_KEY)
        if check is not None and check.match is not None:
            m = check.match
            list_id, entry_id, how, distance = m.list_id, m.entry_id, m.kind, m.distance
        else:
            list_id = verdict.origin.source if verdict.origin else "locked list"
            entry_id = str(verdict.origin.line) if verdict.origin and verdict.origin.line else ""
            how, distance = ("url" if list_id.endswith("urls") else "domain"), 0
        if not self.reported.first((list_id, entry_id, host), now):
            return None
        return authority_report(school_id=self.runtime.settings.school_id, ts=now,
                                category=verdict.category or "", list_id=list_id, entry_id=entry_id, match=how,
                                host=host, distance=distance)

    def response(self, flow: http.HTTPFlow) -> None:
        self.record(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self.record(flow)

    def http_connect_error(self, flow: http.HTTPFlow) -> None:
        self.record(flow)  # a CONNECT refused for its port or target (addons/connections.py)

    def tcp_error(self, flow: tcp.TCPFlow) -> None:
        self.record(flow)  # a tunnel that was neither HTTP nor TLS, closed (addons/connections.py)

    def record(self, flow: http.HTTPFlow | tcp.TCPFlow) -> None:
        verdict: Verdict | None = flow.metadata.get(VERDICT_KEY)
        if verdict is None or flow.metadata.get(LOGGED_KEY) is verdict or self.writer is None:
            return
        if flow.metadata.get(SELFTEST_KEY):
            return  # selftest probes are not children's traffic
        flow.metadata[LOGGED_KEY] = verdict
        now = int(time.time())
        self.writer.count(traffic_key(verdict, now))
        if verdict.action is not Action.BLOCK:
            return
        settings: Settings = self.runtime.settings
        if settings.profile == "home" and verdict.reason is not Reason.ILLEGAL:
            return  # a home keeps no list of blocked sites, only counts per child (docs/home.md)
        client: ClientInfo | None = flow.metadata.get(CLIENT_KEY)
        ref = self.pseudonymize(client.address) if client and client.address and self.pseudonymize else None
        addr = client.address if client and settings.store_client_addresses else None
        if isinstance(flow, http.HTTPFlow):
            raw_host, path = flow.request.pretty_host, flow.request.path
        else:
            raw_host, path = (flow.server_conn.address or ("", 0))[0], ""
        try:
            host = normalise_host(raw_host)
        except HostError:
            host = raw_host[:253]
        incident = block_incident(verdict, host, path, now, ref, addr)
        if verdict.reason is Reason.ILLEGAL:
            self.writer.add_critical(incident, self.authority_report(verdict, host, flow, now))
            return
        if verdict.reason is Reason.SAFEGUARDING:
            # An alert for the designated staff: the type is the category; the search terms
            # and the page's words are never stored.
            incident = dataclasses.replace(incident, kind=IncidentKind.ALERT, severity=Severity.HIGH)
        self.writer.add_incident(incident)
