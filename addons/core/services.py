"""Named services (`blocklists/services.yaml`): YouTube, TikTok, Roblox, ... as
data (id, names, icon, group, domains), shared by school policies
(`services: {tiktok: block}`) and the home gateway's per-child rules.

A service either lists its domains (each covers its sub-domains) or stands for a
category of blocklists/categories.yaml (`category: adult`): its domain set is then
that category's lists, matched through the verdict's categories.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .categories import Categories
from .domains import HostError, candidates, normalise_host
from .errors import Collector, suggest
from .yamlsrc import LList, LMap, check_keys

SERVICE_KEYS = ("name", "icon", "group", "domains", "category")
TOP_KEYS = ("groups", "services")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
DEFAULT_ICON = "🌐"


@dataclass(frozen=True)
class Service:
    id: str
    name_vi: str
    name_en: str
    group: str
    icon: str = DEFAULT_ICON
    domains: tuple[str, ...] = ()
    category: str | None = None
    line: int | None = None

    def name(self, lang: str) -> str:
        return self.name_vi if lang == "vi" else self.name_en


@dataclass(frozen=True)
class ServiceGroup:
    id: str
    name_vi: str
    name_en: str

    def name(self, lang: str) -> str:
        return self.name_vi if lang == "vi" else self.name_en


@dataclass(frozen=True)
class Services:
    by_id: dict[str, Service]
    groups: dict[str, ServiceGroup]
    _domains: dict[str, str] = field(default_factory=dict)  # domain → service id
    _categories: dict[str, str] = field(default_factory=dict)  # category → service id

    def __post_init__(self) -> None:
        for s in self.by_id.values():
            for d in s.domains:
                self._domains.setdefault(d, s.id)
            if s.category:
                self._categories.setdefault(s.category, s.id)

    def __iter__(self) -> Iterator[Service]:
        return iter(self.by_id.values())

    def __contains__(self, item: object) -> bool:
        return item in self.by_id

    def __len__(self) -> int:
        return len(self.by_id)

    def match(self, host: str, categories: Iterable[str] = ()) -> tuple[str, ...]:
        """The services a request belongs to: by domain (most specific first), then by
        the categories its host is listed in."""
        out: list[str] = []
        for name in candidates(host):
            sid = self._domains.get(name)
            if sid is not None:
                out.append(sid)
                break
        for cat in categories:
            sid = self._categories.get(cat)
            if sid is not None and sid not in out:
                out.append(sid)
        return tuple(out)

    def members(self, key: str) -> frozenset[str]:
        """The service ids a rule key names: a service, or every service of a group."""
        if key in self.by_id:
            return frozenset((key,))
        return frozenset(s.id for s in self.by_id.values() if s.group == key)

    def keys(self) -> set[str]:
        """Every name a rule may use: service ids and group ids."""
        return set(self.by_id) | set(self.groups)


EMPTY = Services({}, {})


def _bilingual(value: Any, source: str, line: int, what: str, errors: Collector) -> tuple[str, str] | None:
    if isinstance(value, str):
        return value, value
    if isinstance(value, LMap) and value and set(value) <= {"vi", "en"}:
        vi, en = value.get("vi", value.get("en")), value.get("en", value.get("vi"))
        return str(vi), str(en)
    errors.error(source, line, f"name of {what} must be text or {{vi: ..., en: ...}}",
                 "write name: {vi: \"Trò chơi\", en: \"Games\"}")
    return None


def parse_services(data: Any, source: str, categories: Categories, errors: Collector) -> Services:
    """Validate the services file; every problem is reported with its line."""
    if data is None:
        return EMPTY
    if not isinstance(data, LMap):
        errors.error(source, getattr(data, "line", 1), "the services file must be a mapping",
                     "start with 'groups:' and 'services:'")
        return EMPTY
    check_keys(data, TOP_KEYS, "the services file", source, errors)
    groups: dict[str, ServiceGroup] = {}
    graw = data.get("groups")
    if graw is not None and not isinstance(graw, LMap):
        errors.error(source, data.line_of("groups"), "'groups' must map group ids to names",
                     "write games: {vi: \"Trò chơi\", en: \"Games\"}")
    elif graw is not None:
        for gid, value in graw.items():
            line = graw.line_of(gid)
            if not _ID.match(str(gid)):
                errors.error(source, line, f"group id '{gid}' is not valid", "use lower-case letters, digits and '_'")
                continue
            names = _bilingual(value, source, line, f"group '{gid}'", errors)
            if names:
                groups[str(gid)] = ServiceGroup(str(gid), *names)
    out: dict[str, Service] = {}
    sraw = data.get("services")
    if sraw is None:
        return Services(out, groups)
    if not isinstance(sraw, LMap):
        errors.error(source, data.line_of("services"), "'services' must map service ids to entries",
                     "write tiktok: {name: TikTok, group: video, domains: [tiktok.com]}")
        return Services(out, groups)
    owner: dict[str, tuple[str, int]] = {}
    for sid, spec in sraw.items():
        line = sraw.line_of(sid)
        sid = str(sid)
        if not _ID.match(sid):
            errors.error(source, line, f"service id '{sid}' is not valid",
                         "use lower-case letters, digits and '_' (for example free_fire)")
            continue
        if sid in groups:
            errors.error(source, line, f"service id '{sid}' is also a group id", "give the service another id")
            continue
        if not isinstance(spec, LMap):
            errors.error(source, line, f"service '{sid}' must be a mapping",
                         "write name:, group: and domains: indented under it")
            continue
        check_keys(spec, SERVICE_KEYS, f"service '{sid}'", source, errors)
        names = _bilingual(spec.get("name"), source, spec.line_of("name") if "name" in spec else line,
                           f"service '{sid}'", errors) if "name" in spec else None
        if names is None:
            if "name" not in spec:
                errors.error(source, line, f"service '{sid}' has no name", "add name: {vi: ..., en: ...}")
            continue
        group = str(spec.get("group", ""))
        if group not in groups:
            errors.error(source, spec.line_of("group") if "group" in spec else line,
                         f"service '{sid}' has unknown group '{group}'", suggest(group, groups))
            continue
        category = spec.get("category")
        if category is not None:
            category = str(category)
            if category not in categories:
                errors.error(source, spec.line_of("category"), f"unknown category '{category}' for service '{sid}'",
                             suggest(category, categories.by_id))
                continue
        domains: list[str] = []
        items = spec.get("domains")
        if items is not None and not isinstance(items, LList):
            errors.error(source, spec.line_of("domains"), f"'domains' of service '{sid}' must be a list",
                         "write domains: [tiktok.com, tiktokv.com]")
            continue
        for i, item in enumerate(items or []):
            dline = items.line_of(i)
            try:
                d = normalise_host(str(item).strip().removeprefix("*."))
            except HostError as e:
                errors.error(source, dline, f"'{item}' in service '{sid}' is not a domain: {e}",
                             "write a host name such as tiktok.com (no scheme, no path)")
                continue
            if d in owner:
                first, fline = owner[d]
                errors.error(source, dline, f"'{d}' is listed by service '{first}' (line {fline}) and '{sid}'",
                             "list each domain under one service")
                continue
            owner[d] = (sid, dline)
            domains.append(d)
        if not domains and category is None:
            errors.error(source, line, f"service '{sid}' has no domains",
                         "add domains: [...] or category: <a category id>")
            continue
        icon = str(spec.get("icon", DEFAULT_ICON))
        out[sid] = Service(sid, names[0], names[1], group, icon, tuple(domains), category, line)
    return Services(out, groups)
