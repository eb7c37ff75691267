"""The read-only view of everything the proxy decides with, and the Runtime that
holds the current one. Loaders build a new Snapshot aside and swap it in with one
attribute assignment; each hook reads `runtime.snapshot` once."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from .categories import Categories
from .clients import ClientIndex, ClientMatch
from .decide import Ask, Lists, decide_ask, make_ask
from .domains import candidates
from .hashes import EMPTY as EMPTY_HASHES
from .hashes import HashIndex
from .model import ClientInfo, RequestView, Verdict
from .overrides import NONE as NO_OVERRIDES
from .overrides import Overrides
from .phrases import EMPTY as EMPTY_PHRASES
from .phrases import PhraseIndex
from .policy import DEFAULT_GROUP, Group, PolicySet
from .safesearch import Engines
from .services import EMPTY as NO_SERVICES
from .services import Services
from .sources import Source


@dataclass(frozen=True)
class Snapshot:
    policy: PolicySet
    categories: Categories
    lists: Lists
    tz: tzinfo
    version: str  # changes whenever any policy or list file changes
    clients: ClientIndex = field(init=False)
    info: dict[str, Any] = field(default_factory=dict)  # counts for summaries and status
    sources: tuple[Source, ...] = ()  # list sources from blocklists/sources.yaml
    phrases: PhraseIndex = EMPTY_PHRASES
    engines: Engines = field(default_factory=lambda: Engines([]))
    passthrough: frozenset[str] = frozenset()  # hosts never decrypted (blocklists/passthrough.txt)
    hashes: HashIndex = EMPTY_HASHES  # image-hash lists of the authorities
    services: Services = NO_SERVICES  # named services (blocklists/services.yaml)

    def is_passthrough(self, host: str) -> bool:
        return any(name in self.passthrough for name in candidates(host))

    def __post_init__(self) -> None:
        object.__setattr__(self, "clients", ClientIndex(self.policy.clients, DEFAULT_GROUP))

    def client(self, address: str) -> ClientMatch:
        return self.clients.match(address)

    def group(self, group_id: str) -> Group:
        return self.policy.groups[group_id]

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def ask(self, req: RequestView, group: Group, at: datetime | None = None,
            overrides: Overrides = NO_OVERRIDES) -> Ask:
        """The inputs of one decision (core.decide.CHECKS) with this snapshot's lists."""
        return make_ask(req, group, self.lists, at or self.now(), overrides, self.engines, self.services,
                        scanning=bool(self.phrases.count))

    def decide(self, req: RequestView, group: Group, at: datetime | None = None,
               overrides: Overrides = NO_OVERRIDES) -> Verdict:
        return decide_ask(self.ask(req, group, at, overrides))


@dataclass
class Stats:
    """Figures the addons publish for metrics and status (no per-child data)."""

    reload_failures: int = 0
    tls_refused: int = 0  # TLS handshakes refused in `sni` mode or for passthrough hosts
    # `tls: selective` groups: connections decrypted, by reason (core.inspection), and passed through unread.
    tls_selective: dict[str, int] = field(default_factory=dict)
    policy_loaded_at: float = 0.0
    # List source name → its last status (last_success, last_attempt, entries, last_error).
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    started_at: float = 0.0
    metrics_port: int | None = None  # where this process serves its metrics, once it does
    # Bodies and work cut short (docs/gateway.md "Limits"): "size" a body decoded past its cap,
    # "time" a scan, personal-information check or image hash past scan_time_budget.
    limits: dict[str, int] = field(default_factory=lambda: {"size": 0, "time": 0})
    # Connections refused before any request (addons/connections.py), by reason: tunnel, local.
    connections_refused: dict[str, int] = field(default_factory=lambda: {"tunnel": 0, "local": 0})
    # Live figures registered by the addon that owns them, read at scrape time.
    gauges: dict[str, Callable[[], float]] = field(default_factory=dict)


class Runtime:
    """Shared by the addons of one proxy process (passed in their constructors)."""

    def __init__(self) -> None:
        self.snapshot: Snapshot | None = None
        self.settings: Any = None
        self.stats = Stats()
        self.overrides: Overrides = NO_OVERRIDES  # teachers' overrides, replaced as they change
        self.signins: dict[str, tuple[str, float]] = {}  # device address → (group, expiry) after a sign-in
        self.conn_groups: dict[str, str] = {}  # client connection id → group (proxy authentication)
        # `schoolgate run --workers N`: which process this is (infra.workers.WorkerRole); None when alone.
        self.role: Any = None
        self.worker_hub: Any = None  # in the leader: the followers' channel (their metrics ports)
        self.forked: dict[int, Any] = {}  # in the leader: followers forked at start (infra.prefork)
        self.home_clients: dict[str, str] = {}  # home profile: a child's device address → the child's level group
        # The store's writer, published by IncidentLog (in a follower: the channel to the leader's).
        self.writer: Any = None
        self.clock: Callable[[], float] = time.time  # the home limits' clock (a test clock in tests)

    @property
    def follower(self) -> bool:
        """A worker process other than the leader: it leaves writing, list updates and
        exports to the leader."""
        return self.role is not None and self.role.follower


def identify(snapshot: Snapshot, runtime: Runtime, address: str, conn_id: str = "") -> ClientInfo:
    """Who is asking: an authenticated proxy connection, then a device signed in on the
    reserved host, then a child's device on a home gateway (the child's level), then the
    address's group from clients.yaml (or `default`)."""
    groups = snapshot.policy.groups
    group = runtime.conn_groups.get(conn_id) if conn_id else None
    if group in groups:
        return ClientInfo(address, group, "proxy sign-in")
    signin = runtime.signins.get(address)
    if signin is not None and signin[1] > time.time() and signin[0] in groups:
        return ClientInfo(address, signin[0], "signed in")
    home = runtime.home_clients.get(address)
    if home in groups:
        return ClientInfo(address, home, "home")
    match = snapshot.client(address)
    return ClientInfo(address, match.group, match.range.name if match.range else None)
