"""Several proxy processes on one address (`schoolgate run --workers N`).

The first process, the leader, is a full proxy that also owns the store's one
writer, the list updates, the department export and the public metrics
endpoint. It starts N-1 followers: the same proxy, listening on the same
address and port with SO_REUSEPORT, so the kernel spreads new connections over
the processes while each one still sees the device's own address (per-grade
policy depends on it; a TCP balancer in front would hide it). Every process
maps the same compiled list index and uses the same CA.

Followers send their incidents and traffic counts to the leader over a Unix
socket in batches (`RemoteWriter`), and serve their metrics on a private
loopback port that the leader's /metrics adds up (addons/metrics.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..core.outbox import OutboxItem, OutboxKind
from ..core.privacy import Incident, IncidentKind, Severity, TrafficKey
from .prefork import ForkedProcess
from .tasks import cancel, spawn

logger = logging.getLogger(__name__)

ENV = "SCHOOLGATE_WORKER"
SOCKET_NAME = "workers.sock"
MAX_LINE = 64 << 20  # one batch of a follower, as one JSON line
RESTART_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
STOP_SECONDS = 15.0
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class WorkerRole:
    """Which process of `--workers N` this is (absent when N is 1)."""

    index: int  # 0 is the leader
    count: int
    socket: Path  # the leader's Unix socket
    leader_pid: int = 0

    @property
    def leader(self) -> bool:
        return self.index == 0

    @property
    def follower(self) -> bool:
        return self.index > 0

    def encode(self) -> str:
        return f"{self.index}/{self.count}/{self.leader_pid}:{self.socket}"

    @classmethod
    def decode(cls, value: str) -> WorkerRole:
        head, _, path = value.partition(":")
        index, count, pid = head.split("/")
        role = cls(int(index), int(count), Path(path), int(pid))
        if not 0 <= role.index < role.count or not path:
            raise ValueError(f"bad {ENV} value {value!r}")
        return role


def role_from_env(environ: dict[str, str] | None = None) -> WorkerRole | None:
    value = (os.environ if environ is None else environ).get(ENV)
    return WorkerRole.decode(value) if value else None


def default_workers() -> int:
    """The number of cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def listen_with_reuse_port() -> None:
    """mitmproxy has no reuse-port option: set SO_REUSEPORT on every listening
    socket it opens through asyncio.start_server (the proxy modes' servers)."""
    original = asyncio.start_server
    if getattr(original, "schoolgate_reuse_port", False):
        return

    async def start_server(*args: Any, **kwargs: Any) -> asyncio.Server:
        kwargs.setdefault("reuse_port", True)
        return await original(*args, **kwargs)

    start_server.schoolgate_reuse_port = True  # type: ignore[attr-defined]
    asyncio.start_server = start_server  # type: ignore[assignment]


def die_with_parent(parent: int) -> None:
    """A follower stops when the leader is gone, even if the leader was killed (-9):
    left alone it would keep the port with nobody writing its incidents."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the leader died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


async def wait_for_leader(role: WorkerRole) -> None:
    """Until the leader has loaded its policy and opened the followers' channel (if the
    leader dies meanwhile, die_with_parent ends this process)."""
    rounds = 0
    while not role.socket.exists():
        await asyncio.sleep(0.05)
        rounds += 1
        if rounds == 600:  # 30 s: a first start may compile a large list index
            logger.info("Proxy worker %d is waiting for the first worker to start.", role.index + 1)


def free_port(host: str) -> int:
    """A free TCP port on `host` for a `listen_port` of 0 (all workers need the same one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host or "0.0.0.0", 0))
        return int(s.getsockname()[1])


# -- the wire format between followers and the leader ------------------------------------


@dataclass
class Batch:
    """What a follower holds for the leader's writer until it is sent."""

    incidents: list[Incident] = field(default_factory=list)
    critical: list[tuple[Incident, OutboxItem | None]] = field(default_factory=list)
    counts: Counter[TrafficKey] = field(default_factory=Counter)
    dropped: Counter[int] = field(default_factory=Counter)  # hour → incidents dropped here
    usage: set[tuple[str, str, str, int]] = field(default_factory=set)  # home: (day, child, service, minute)
    home_blocks: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    devices: dict[str, int] = field(default_factory=dict)  # home: address → last seen

    def __bool__(self) -> bool:
        return bool(self.incidents or self.critical or self.counts or self.dropped or self.usage
                    or self.home_blocks or self.devices)

    def put_back(self, older: Batch) -> None:
        """A batch that could not be sent goes in front of what came since."""
        self.incidents[:0] = older.incidents
        self.critical[:0] = older.critical
        self.counts.update(older.counts)
        self.dropped.update(older.dropped)
        self.usage |= older.usage
        self.home_blocks.update(older.home_blocks)
        for address, ts in older.devices.items():
            self.devices[address] = max(ts, self.devices.get(address, 0))

    def encode(self) -> bytes:
        body = {
            "incidents": [astuple(i) for i in self.incidents],
            "critical": [[astuple(i), astuple(r) if r else None] for i, r in self.critical],
            "counts": [[*astuple(k), n] for k, n in self.counts.items()],
            "dropped": [[hour, n] for hour, n in self.dropped.items()],
            "usage": sorted(self.usage),
            "home_blocks": [[*k, n] for k, n in self.home_blocks.items()],
            "devices": sorted(self.devices.items()),
        }
        return json.dumps(body, separators=(",", ":")).encode() + b"\n"


def _incident(row: list[Any]) -> Incident:
    ts, kind, severity, *rest = row
    return Incident(int(ts), IncidentKind(kind), Severity(severity), *rest)


def _report(row: list[Any] | None) -> OutboxItem | None:
    if row is None:
        return None
    oid, kind, created, body = row
    return OutboxItem(str(oid), OutboxKind(kind), int(created), str(body))


class Sink(Protocol):
    """What the leader's writer offers (addons/infra/store.Writer)."""

    def add_incident(self, incident: Incident) -> bool: ...
    def add_critical(self, incident: Incident, report: OutboxItem | None = None) -> None: ...
    def count(self, key: TrafficKey, n: int = 1) -> None: ...
    def note_dropped(self, hour: int, n: int) -> None: ...
    def add_usage(self, day: str, child: str, service: str, minute: int) -> None: ...
    def count_home_block(self, day: str, child: str, reason: str, what: str) -> None: ...
    def seen_device(self, address: str, ts: int) -> None: ...


def apply_batch(line: bytes, sink: Sink) -> int:
    """Hand one follower batch to the writer; returns the number of incidents."""
    body = json.loads(line)
    for row, report in body.get("critical", ()):
        sink.add_critical(_incident(row), _report(report))
    for row in body.get("incidents", ()):
        sink.add_incident(_incident(row))
    for *key, n in body.get("counts", ()):
        sink.count(TrafficKey(*key), int(n))
    for hour, n in body.get("dropped", ()):
        sink.note_dropped(int(hour), int(n))
    for day, child, service, minute in body.get("usage", ()):
        sink.add_usage(day, child, service, int(minute))
    for day, child, reason, what, n in body.get("home_blocks", ()):
        for _ in range(int(n)):
            sink.count_home_block(day, child, reason, what)
    for address, ts in body.get("devices", ()):
        sink.seen_device(address, int(ts))
    return len(body.get("incidents", ())) + len(body.get("critical", ()))


# -- leader side ---------------------------------------------------------------------------


class Hub:
    """The leader's Unix socket: followers say hello (with their metrics port), then
    send batches, which go to the one writer."""

    def __init__(self, path: Path, sink: Callable[[], Sink | None]):
        self.path = path
        self.sink = sink
        self.metrics_ports: dict[int, int] = {}
        self.received = 0
        self._server: asyncio.AbstractServer | None = None
        self._pending: list[bytes] = []

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path), limit=MAX_LINE)
        os.chmod(self.path, 0o600)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                if line.startswith(b'{"worker"'):  # hello, again whenever its metrics port changes
                    hello = json.loads(line)
                    self.metrics_ports[int(hello["worker"])] = int(hello.get("metrics_port") or 0)
                    continue
                self.deliver(line)
                writer.write(b"ok\n")  # the follower forgets a batch only once it is here
                await writer.drain()
        except (ValueError, KeyError, TypeError) as e:
            logger.error("A proxy worker sent something unreadable (%s); closing its channel.", e)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def deliver(self, line: bytes) -> None:
        sink = self.sink()
        if sink is None:  # the writer is not up yet: keep it for the next batch
            self._pending.append(line)
            return
        for pending in self._pending:
            self.received += apply_batch(pending, sink)
        self._pending.clear()
        self.received += apply_batch(line, sink)


class Followers:
    """Starts the followers, restarts one that dies, stops them all at the end."""

    def __init__(self, role: WorkerRole, command: Sequence[str], env: dict[str, str] | None = None,
                 started: dict[int, ForkedProcess] | None = None):
        self.role = role
        self.command = list(command)
        self.env = {**os.environ, **(env or {})}
        self.started = dict(started or {})  # forked at start-up (prefork); restarts are new processes
        self.procs: dict[int, subprocess.Popen[bytes] | ForkedProcess] = {}
        self.restarts: Counter[int] = Counter()
        self._task: asyncio.Task[Any] | None = None
        self._stopping = False

    def start(self) -> None:
        for index in range(1, self.role.count):
            self._spawn(index)
        self._task = spawn(self._watch(), name="schoolgate worker supervisor")

    def _spawn(self, index: int) -> None:
        forked = self.started.pop(index, None)
        if forked is not None:  # if it has already stopped, the watcher restarts it as usual
            self.procs[index] = forked
            return
        role = WorkerRole(index, self.role.count, self.role.socket, os.getpid())
        self.procs[index] = subprocess.Popen(self.command, env={**self.env, ENV: role.encode()})

    async def _watch(self) -> None:
        due: dict[int, float] = {}
        while not self._stopping:
            await asyncio.sleep(0.5)
            now = time.monotonic()
            for index, proc in list(self.procs.items()):
                if proc.poll() is None or self._stopping:
                    continue
                if index not in due:
                    n = self.restarts[index]
                    delay = RESTART_DELAYS[min(n, len(RESTART_DELAYS) - 1)]
                    logger.error("Proxy worker %d stopped (exit %s); starting it again in %.0f s.",
                                 index, proc.returncode, delay)
                    due[index] = now + delay
                elif now >= due[index]:
                    del due[index]
                    self.restarts[index] += 1
                    self._spawn(index)

    @property
    def alive(self) -> int:
        return sum(1 for p in self.procs.values() if p.poll() is None)

    async def stop(self) -> None:
        """SIGTERM every follower and wait: each sends what it still holds first."""
        self._stopping = True
        await cancel(self._task)
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while any(p.poll() is None for p in self.procs.values()) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        for index, proc in self.procs.items():
            if proc.poll() is None:
                logger.error("Proxy worker %d did not stop in %.0f s; killing it.", index, STOP_SECONDS)
                proc.kill()
                proc.wait(5)


def follower_command(argv: Sequence[str]) -> list[str]:
    """The same `schoolgate` command line, run by the same interpreter."""
    return [sys.executable, "-m", "addons.cli", *argv]


# -- follower side -------------------------------------------------------------------------


class RemoteWriter:
    """A follower's writer: the same calls as store.Writer, kept in memory and sent to
    the leader in batches. Critical incidents are never dropped; if the leader is
    unreachable everything waits (incidents up to `max_queue`, then counted)."""

    def __init__(self, role: WorkerRole, *, batch_seconds: float = 0.5, max_queue: int = 10_000,
                 metrics_port: Callable[[], int | None] = lambda: None):
        self.role = role
        self.batch_seconds = batch_seconds
        self.max_queue = max_queue
        self.metrics_port = metrics_port
        self._batch = Batch()
        self._conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._announced: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.dropped = 0
        self.sent = 0

    def add_incident(self, incident: Incident) -> bool:
        if len(self._batch.incidents) >= self.max_queue:
            self.dropped += 1
            self._batch.dropped[incident.ts - incident.ts % 3600] += 1
            return False
        self._batch.incidents.append(incident)
        return True

    def add_critical(self, incident: Incident, report: OutboxItem | None = None) -> None:
        self._batch.critical.append((incident, report))

    def count(self, key: TrafficKey, n: int = 1) -> None:
        self._batch.counts[key] += n

    def add_usage(self, day: str, child: str, service: str, minute: int) -> None:
        self._batch.usage.add((day, child, service, minute))

    def count_home_block(self, day: str, child: str, reason: str, what: str) -> None:
        self._batch.home_blocks[(day, child, reason, what)] += 1

    def seen_device(self, address: str, ts: int) -> None:
        self._batch.devices[address] = max(ts, self._batch.devices.get(address, 0))

    @property
    def queue_depth(self) -> int:
        return len(self._batch.incidents) + len(self._batch.critical)

    async def start(self) -> None:
        self._task = spawn(self._loop(), name="schoolgate worker channel")

    async def _loop(self) -> None:
        tick = min(self.batch_seconds, 1.0)
        last = time.monotonic()
        while True:
            await asyncio.sleep(tick)
            try:
                if time.monotonic() - last >= self.batch_seconds:
                    last = time.monotonic()
                    await self.flush()
                else:
                    async with self._lock:
                        await self._connect()  # the leader learns the metrics port within a second
            except (OSError, ConnectionError, asyncio.IncompleteReadError, TimeoutError) as e:
                logger.warning("Cannot reach the leader worker (%s); incidents wait and are sent again.", e)
                await self._disconnect()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._conn is None:
            self._conn = await asyncio.open_unix_connection(str(self.role.socket))
            self._announced = None
        port = self.metrics_port() or 0
        if port != self._announced:
            hello = {"worker": self.role.index, "metrics_port": port}
            self._conn[1].write(json.dumps(hello, separators=(",", ":")).encode() + b"\n")
            self._announced = port
        return self._conn

    async def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn[1].close()
            self._conn = None

    async def flush(self) -> None:
        """Send what is pending; on failure it all stays for the next try."""
        async with self._lock:
            if not self._batch:
                await self._connect()  # say hello early: the leader learns the metrics port
                return
            batch, self._batch = self._batch, Batch()
            try:
                reader, writer = await self._connect()
                writer.write(batch.encode())
                await writer.drain()
                if await asyncio.wait_for(reader.readline(), 10) != b"ok\n":
                    raise ConnectionError("the leader closed the channel")
            except BaseException:
                self._batch.put_back(batch)
                raise
            self.sent += len(batch.incidents) + len(batch.critical)

    async def close(self) -> None:
        await cancel(self._task)
        self._task = None
        for _ in range(10):
            try:
                await self.flush()
                break
            except (OSError, ConnectionError, asyncio.IncompleteReadError, TimeoutError):
                await self._disconnect()
                await asyncio.sleep(0.5)
        else:
            if self._batch:
                logger.error("Stopping with %d incidents the leader worker never received.", self.queue_depth)
        await self._disconnect()

    async def retention(self, now: int, **_: int) -> dict[str, int]:
        return {}  # the leader runs retention
