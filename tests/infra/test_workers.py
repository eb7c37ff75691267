"""The channel between proxy workers: a follower's RemoteWriter sends its incidents,
critical reports and counts to the leader's Hub over a real Unix socket, into the
leader's real Writer and SQLite; nothing is lost while the leader is away."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from addons.core.privacy import TrafficKey
from addons.infra.store import Writer
from addons.infra.workers import (
    ENV,
    Batch,
    Hub,
    RemoteWriter,
    WorkerRole,
    apply_batch,
    role_from_env,
)
from addons.runner import without_set
from tests.infra.test_store import critical, incident, report


class Sink:
    def __init__(self) -> None:
        self.incidents: list[object] = []
        self.critical: list[object] = []
        self.counts: Counter[TrafficKey] = Counter()
        self.dropped: Counter[int] = Counter()
        self.usage: set[tuple[object, ...]] = set()
        self.home_blocks: Counter[tuple[object, ...]] = Counter()
        self.devices: dict[str, int] = {}

    def add_incident(self, i):  # type: ignore[no-untyped-def]
        self.incidents.append(i)
        return True

    def add_critical(self, i, r=None):  # type: ignore[no-untyped-def]
        self.critical.append((i, r))

    def count(self, k, n=1):  # type: ignore[no-untyped-def]
        self.counts[k] += n

    def note_dropped(self, hour, n):  # type: ignore[no-untyped-def]
        self.dropped[hour] += n

    def add_usage(self, *key):  # type: ignore[no-untyped-def]
        self.usage.add(key)

    def count_home_block(self, *key):  # type: ignore[no-untyped-def]
        self.home_blocks[key] += 1

    def seen_device(self, address, ts):  # type: ignore[no-untyped-def]
        self.devices[address] = ts


def test_role_round_trip() -> None:
    role = WorkerRole(1, 4, Path("/tmp/x/workers.sock"), 1234)
    assert WorkerRole.decode(role.encode()) == role and role.follower and not role.leader
    assert role_from_env({ENV: role.encode()}) == role and role_from_env({}) is None
    with pytest.raises(ValueError):
        WorkerRole.decode("4/4/1:/tmp/s")


def test_batch_round_trip_keeps_every_field() -> None:
    key = TrafficKey(1_700_000_000, "grade-3", "primary", "gambling", "block", "category")
    batch = Batch([incident()], [(critical(), report())], Counter({key: 7}), Counter({1_699_999_200: 2}),
                  {("2026-11-25", "an", "tiktok", 600)}, Counter({("2026-11-25", "an", "budget", "games"): 3}),
                  {"192.168.1.20": 1_700_000_000})
    sink = Sink()
    assert apply_batch(batch.encode(), sink) == 2
    assert sink.incidents == [incident()] and sink.critical == [(critical(), report())]
    assert sink.counts == {key: 7} and sink.dropped == {1_699_999_200: 2}
    assert sink.usage == {("2026-11-25", "an", "tiktok", 600)}
    assert sink.home_blocks == {("2026-11-25", "an", "budget", "games"): 3}
    assert sink.devices == {"192.168.1.20": 1_700_000_000}


def test_without_set() -> None:
    argv = ["run", "--set", "listen_port=0", "--set=listen_port=1", "--set", "mode=regular", "--workers", "2"]
    assert without_set(argv, "listen_port") == ["run", "--set", "mode=regular", "--workers", "2"]


async def test_follower_incidents_reach_the_leaders_store(tmp_path: Path) -> None:
    db = tmp_path / "schoolgate.db"
    sock = tmp_path / "w.sock"
    writer = Writer(db, batch_seconds=0.05)
    await writer.start()
    hub = Hub(sock, lambda: writer)
    await hub.start()
    remote = RemoteWriter(WorkerRole(1, 2, sock), batch_seconds=0.05, metrics_port=lambda: 4321)
    await remote.start()
    key = TrafficKey(1_700_000_000, "grade-3", "primary", "gambling", "block", "category")
    for _ in range(5):
        remote.add_incident(incident())
        remote.count(key, 2)
    remote.add_critical(critical(), report())
    for _ in range(100):
        await asyncio.sleep(0.05)
        if hub.received == 6 and 1 in hub.metrics_ports:
            break
    assert hub.metrics_ports == {1: 4321}
    await remote.close()
    await hub.close()
    await writer.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM incidents").fetchone()[0] == 6
        assert conn.execute("SELECT count FROM traffic_hourly").fetchone()[0] == 10
        assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 1
    assert not sock.exists()


async def test_nothing_is_lost_while_the_leader_is_away(tmp_path: Path) -> None:
    db = tmp_path / "schoolgate.db"
    sock = tmp_path / "w.sock"
    remote = RemoteWriter(WorkerRole(1, 2, sock), batch_seconds=0.05, max_queue=3)
    await remote.start()
    for _ in range(5):
        remote.add_incident(incident())  # two over max_queue: dropped, and counted
    remote.add_critical(critical(), report())
    await asyncio.sleep(0.3)  # the leader is not there: it all waits
    assert remote.queue_depth == 4 and remote.dropped == 2
    writer = Writer(db, batch_seconds=0.05)
    await writer.start()
    hub = Hub(sock, lambda: writer)
    await hub.start()
    for _ in range(100):
        await asyncio.sleep(0.05)
        if remote.queue_depth == 0:
            break
    await remote.close()
    await hub.close()
    await writer.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM incidents").fetchone()[0] == 4
        assert conn.execute("SELECT sum(count) FROM dropped_incidents").fetchone()[0] == 2
