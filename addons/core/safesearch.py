"""Safe search: the engine table (`blocklists/safesearch.yaml`) and what to do to
one request. Pure: the SafeSearch addon applies the plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .content import ContentRules
from .domains import HostError, candidates, normalise_host
from .errors import Collector
from .yamlsrc import LList, LMap, check_keys

ENGINE_KEYS = ("name", "hosts", "paths", "query", "safe_params", "youtube_header")
YOUTUBE_HEADER = "YouTube-Restrict"


@dataclass(frozen=True)
class Engine:
    id: str
    name: str
    hosts: tuple[str, ...]
    paths: tuple[str, ...] = ()
    query: str | None = None
    safe_params: dict[str, str] = field(default_factory=dict)
    youtube_header: bool = False

    @property
    def supported(self) -> bool:
        return bool(self.safe_params) or self.youtube_header

    def is_search(self, path: str) -> bool:
        """A path where this engine searches: a listed prefix ("/" means the front page only)."""
        if not self.paths:
            return True
        return any(path == p or (p != "/" and path.startswith(p.rstrip("/") + "/")) for p in self.paths)


@dataclass(frozen=True)
class Plan:
    set_params: dict[str, str]  # parameters to force
    headers: dict[str, str]  # headers to set
    query: str | None  # search terms to scan, if this is a search
    unsupported: bool  # a search on an engine with no safe-search mechanism


class Engines:
    def __init__(self, engines: list[Engine]):
        self.engines = engines
        self._by_host = {h: e for e in engines for h in e.hosts}

    def match(self, host: str) -> Engine | None:
        for name in candidates(host):
            engine = self._by_host.get(name)
            if engine is not None:
                return engine
        return None

    def plan(self, engine: Engine, rules: ContentRules, path: str, params: dict[str, str]) -> Plan:
        searching = engine.is_search(path)
        query = params.get(engine.query) if engine.query and searching else None
        set_params = dict(engine.safe_params) if rules.safe_search and searching else {}
        headers: dict[str, str] = {}
        if engine.youtube_header and rules.youtube != "off":
            headers[YOUTUBE_HEADER] = "Strict" if rules.youtube == "strict" else "Moderate"
        unsupported = searching and not engine.supported and rules.safe_search
        return Plan(set_params, headers, query or None, unsupported)


def parse_engines(data: Any, source: str, errors: Collector) -> Engines:
    if data is None:
        return Engines([])
    if not isinstance(data, LMap) or not isinstance(data.get("engines"), LMap):
        errors.error(source, getattr(data, "line", 1), "expected 'engines:' with one entry per search engine",
                     "see the comments at the top of the shipped safesearch.yaml")
        return Engines([])
    check_keys(data, ("engines",), "the safe-search file", source, errors)
    out = []
    items: LMap = data["engines"]
    for eid, spec in items.items():
        line = items.line_of(eid)
        if not isinstance(spec, LMap):
            errors.error(source, line, f"engine '{eid}' needs settings", "give at least name and hosts")
            continue
        check_keys(spec, ENGINE_KEYS, f"engine '{eid}'", source, errors)
        hosts = []
        raw_hosts = spec.get("hosts")
        if not isinstance(raw_hosts, LList) or not raw_hosts:
            errors.error(source, spec.line_of("hosts"), f"engine '{eid}' needs a list of hosts",
                         "write hosts: [example.com]")
            continue
        for i, h in enumerate(raw_hosts):
            try:
                hosts.append(normalise_host(str(h)))
            except HostError as e:
                errors.error(source, raw_hosts.line_of(i), f"'{h}' is not a host name: {e}", "write example.com")
        paths = spec.get("paths", LList())
        params = spec.get("safe_params", LMap())
        if not isinstance(paths, list) or not isinstance(params, dict):
            errors.error(source, line, f"engine '{eid}': paths must be a list and safe_params a mapping",
                         "write paths: [/search] and safe_params: {safe: active}")
            continue
        out.append(Engine(str(eid), str(spec.get("name", eid)), tuple(hosts), tuple(str(p) for p in paths),
                          None if spec.get("query") is None else str(spec["query"]),
                          {str(k): str(v) for k, v in params.items()}, bool(spec.get("youtube_header", False))))
    return Engines(out)
