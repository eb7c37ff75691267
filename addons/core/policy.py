"""The policy model: groups, their rules and inheritance, compiled for lookups.

Every YAML file in `policies/` may hold any of three sections:

    schedules:   named weekly time windows
    groups:      group id → rules
    clients:     which addresses belong to which group (see core.clients)

Group ids are global across files; defining one twice is an error. Grades
`grade-1` … `grade-12` exist whenever their level (`primary`,
`lower-secondary`, `upper-secondary`) is defined, and inherit it; a file may
give a grade its own rules, which override the level's. See docs/policies.md for the full reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .categories import Categories
from .clients import ClientRange, compile_clients
from .content import CONTENT_KEYS, ContentRules, defaults_for, parse_content
from .domains import HostError, is_public_suffix, normalise_host
from .errors import Collector, suggest
from .model import Action, Kind, Origin
from .ports import NO_PORTS, OpenPorts, parse_open_ports
from .schedule import Schedule, ScheduleError, Window, compile_schedule, make_window
from .services import EMPTY as NO_SERVICES
from .services import Services
from .yamlsrc import LList, LMap, check_keys

LEVELS: dict[str, tuple[int, ...]] = {
    "preschool": (),
    "primary": (1, 2, 3, 4, 5),
    "lower-secondary": (6, 7, 8, 9),
    "upper-secondary": (10, 11, 12),
}
GRADE_LEVEL = {g: level for level, grades in LEVELS.items() for g in grades}
BUILTIN_KINDS: dict[str, Kind] = {
    **{level: Kind.STUDENT for level in LEVELS},
    **{f"grade-{g}": Kind.STUDENT for g in GRADE_LEVEL},
    "staff": Kind.STAFF,
    "guest": Kind.GUEST,
}
DEFAULT_GROUP = "default"

TOP_KEYS = ("schedules", "groups", "clients", "overlays")
# What a teacher's generated file (policies/teachers/<name>.yaml) may change in a group.
OVERLAY_KEYS = ("allow", "deny", "closed_during")
GROUP_KEYS = (
    "name",
    "description",
    "kind",
    "inherits",
    "categories",
    "allow",
    "deny",
    "deny_urls",
    "uncategorised",
    "ip_literals",
    "closed_during",
    "services",
    "open_ports",
    *CONTENT_KEYS,
)
# Renamed keys: still read, with a warning that names the new key.
MIGRATED_KEYS = {
    "whitelist": "allow",
    "blacklist": "deny",
    "allowlist": "allow",
    "denylist": "deny",
    "block_lists": "categories",
    "uncategorized": "uncategorised",
}
CATEGORY_ACTIONS = ("block", "allow")
SCHEDULED_ACTIONS = ("block_during", "allow_during")
_GROUP_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True, slots=True)
class CategoryRule:
    action: str  # block | allow | block_during | allow_during
    origin: Origin
    schedule: Schedule | None = None

    def describe(self, category: str) -> str:
        if self.schedule is None:
            return f"categories.{category}: {self.action}"
        return f"categories.{category}: {self.action} {self.schedule.name}"


@dataclass(frozen=True, slots=True)
class DomainRule:
    action: Action
    domain: str
    origin: Origin
    exact: bool = False  # a public suffix (github.io): the rule covers that host only


@dataclass(frozen=True, slots=True)
class UrlRule:
    text: str
    origin: Origin
    host: str | None = None  # prefix rules: the host part
    path: str = ""  # prefix rules: the path prefix (lower case)
    regex: re.Pattern[str] | None = None
    exact: bool = False  # the host is a public suffix: that host only, not the names below it


@dataclass(frozen=True, slots=True)
class Setting:
    action: Action
    origin: Origin | None


@dataclass(frozen=True)
class Group:
    id: str
    name_vi: str
    name_en: str
    kind: Kind
    level: str | None
    grade: int | None
    chain: tuple[str, ...]  # the group first, then what it inherits from
    categories: dict[str, CategoryRule]
    domains: dict[str, DomainRule]
    urls: tuple[UrlRule, ...]
    uncategorised: Setting
    ip_literals: Setting
    closed_during: tuple[Schedule, Origin] | None = None
    content: ContentRules = field(default_factory=ContentRules)
    services: dict[str, CategoryRule] = field(default_factory=dict)  # service or service-group id → rule
    open_ports: OpenPorts = NO_PORTS  # ports beyond TCP 80/443 (core.ports)

    def name(self, lang: str) -> str:
        return self.name_vi if lang == "vi" else self.name_en


@dataclass(frozen=True)
class PolicySet:
    groups: dict[str, Group]
    schedules: dict[str, Schedule]
    clients: tuple[ClientRange, ...]
    files: tuple[str, ...] = ()

    def group(self, group_id: str) -> Group:
        return self.groups[group_id]

    def grade_group(self, grade: int) -> Group:
        return self.groups[f"grade-{grade}"]


# ----------------------------------------------------------------------------- parsing


@dataclass
class _RawGroup:
    id: str
    spec: LMap
    source: str
    line: int


@dataclass
class _Raw:
    groups: dict[str, _RawGroup] = field(default_factory=dict)
    schedules: dict[str, tuple[Schedule, Origin]] = field(default_factory=dict)
    clients: list[tuple[Any, str, int]] = field(default_factory=list)  # (entry, source, line)
    overlays: dict[str, list[tuple[LMap, str, int]]] = field(default_factory=dict)  # group → (spec, file, line)


def collect(files: list[tuple[str, Any]], errors: Collector) -> _Raw:
    """First pass over parsed files: sections, duplicate names, schedules."""
    raw = _Raw()
    for source, data in files:
        if data is None:
            continue  # an empty file
        if not isinstance(data, LMap):
            errors.error(source, getattr(data, "line", 1), "a policy file must be a mapping",
                         "start with one of: " + ", ".join(TOP_KEYS))
            continue
        check_keys(data, TOP_KEYS, "a policy file", source, errors)
        scheds = data.get("schedules")
        if scheds is not None:
            if not isinstance(scheds, LMap):
                errors.error(source, data.line_of("schedules"), "'schedules' must map names to windows",
                             "write school-hours: [{days: mon-fri, from: \"07:00\", to: \"17:00\"}]")
            else:
                for name, windows in scheds.items():
                    _collect_schedule(str(name), windows, source, scheds.line_of(name), raw, errors)
        groups = data.get("groups")
        if groups is not None:
            if not isinstance(groups, LMap):
                errors.error(source, data.line_of("groups"), "'groups' must map group ids to rules",
                             "write 'primary: {categories: {adult: block}}'")
            else:
                for gid, spec in groups.items():
                    line = groups.line_of(gid)
                    gid = str(gid)
                    if not _GROUP_ID.match(gid):
                        errors.error(source, line, f"group id '{gid}' is not valid",
                                     "use lower-case letters, digits, '-' and '_' (for example 'class-7a')")
                        continue
                    if gid in raw.groups:
                        first = raw.groups[gid]
                        errors.error(source, line,
                                     f"group '{gid}' is already defined at {first.source}:{first.line}",
                                     "define each group once; put all its rules in one place")
                        continue
                    if spec is None:
                        spec = LMap()
                        spec.line, spec.lines = line, {}
                    if not isinstance(spec, LMap):
                        errors.error(source, line, f"group '{gid}' must be a mapping of rules",
                                     "write the rules indented under the group id")
                        continue
                    raw.groups[gid] = _RawGroup(gid, spec, source, line)
        clients = data.get("clients")
        if clients is not None:
            if not isinstance(clients, LList):
                errors.error(source, data.line_of("clients"), "'clients' must be a list",
                             "write '- {network: 10.0.7.0/24, group: grade-7}'")
            else:
                for i, entry in enumerate(clients):
                    raw.clients.append((entry, source, clients.line_of(i)))
        overlays = data.get("overlays")
        if overlays is not None:
            if not isinstance(overlays, LMap):
                errors.error(source, data.line_of("overlays"), "'overlays' must map group ids to changes",
                             "write 'grade-7: {allow: [example.com]}'")
            else:
                for gid, spec in overlays.items():
                    line = overlays.line_of(gid)
                    if not isinstance(spec, LMap):
                        errors.error(source, line, f"overlay for '{gid}' must be a mapping",
                                     "write allow:, deny: or closed_during: under it")
                        continue
                    check_keys(spec, OVERLAY_KEYS, f"the overlay for '{gid}'", source, errors)
                    raw.overlays.setdefault(str(gid), []).append((spec, source, line))
    return raw


def _collect_schedule(name: str, windows: Any, source: str, line: int, raw: _Raw, errors: Collector) -> None:
    if name in raw.schedules:
        first = raw.schedules[name][1]
        errors.error(source, line, f"schedule '{name}' is already defined at {first}",
                     "give the schedule another name or merge the windows")
        return
    if isinstance(windows, LMap):
        items, lines = [windows], [windows.line]
    elif isinstance(windows, LList):
        items, lines = list(windows), [windows.line_of(i) for i in range(len(windows))]
    else:
        errors.error(source, line, f"schedule '{name}' must be a window or a list of windows",
                     "write [{days: mon-fri, from: \"07:00\", to: \"17:00\"}]")
        return
    compiled: list[Window] = []
    ok = True
    for w, wline in zip(items, lines, strict=True):
        if not isinstance(w, LMap):
            errors.error(source, wline, "a window must be a mapping with days, from and to",
                         "write {days: mon-fri, from: \"07:00\", to: \"17:00\"}")
            ok = False
            continue
        check_keys(w, ("days", "from", "to"), f"schedule '{name}'", source, errors)
        missing = [k for k in ("days", "from", "to") if k not in w]
        if missing:
            errors.error(source, wline, f"window in schedule '{name}' lacks {', '.join(missing)}",
                         "every window needs days, from and to")
            ok = False
            continue
        try:
            compiled.append(make_window(w["days"], w["from"], w["to"]))
        except ScheduleError as e:
            errors.error(source, wline, f"impossible time window in schedule '{name}': {e}",
                         "use days such as mon-fri and times from \"00:00\" to \"24:00\"")
            ok = False
    if not compiled and ok:
        errors.error(source, line, f"schedule '{name}' has no windows", "add at least one window")
    if compiled:
        raw.schedules[name] = (compile_schedule(name, compiled), Origin(source, line))


# ----------------------------------------------------------------------------- compiling


def builtin_parent(gid: str) -> str | None:
    if gid.startswith("grade-") and gid[6:].isdigit():
        return GRADE_LEVEL.get(int(gid[6:]))
    return None


def compile_policies(files: list[tuple[str, Any]], categories: Categories, errors: Collector,
                     services: Services = NO_SERVICES) -> PolicySet:
    """Parse and compile every policy file. Errors go to `errors`."""
    raw = collect(files, errors)
    # Grades exist implicitly whenever their level exists.
    for grade, level in GRADE_LEVEL.items():
        gid = f"grade-{grade}"
        if gid not in raw.groups and level in raw.groups:
            empty = LMap()
            empty.line, empty.lines = 0, {}
            raw.groups[gid] = _RawGroup(gid, empty, raw.groups[level].source, 0)
    if DEFAULT_GROUP not in raw.groups:
        errors.error(files[0][0] if files else "policies", None,
                     "no 'default' group: unknown devices would have no policy",
                     "define groups: {default: {inherits: primary}} in a policy file")
    parents: dict[str, str | None] = {}
    for gid, rg in raw.groups.items():
        check_keys(rg.spec, GROUP_KEYS, f"group '{gid}'", rg.source, errors, MIGRATED_KEYS)
        implicit = builtin_parent(gid)
        declared = rg.spec.get("inherits")
        if declared is not None and not isinstance(declared, str):
            errors.error(rg.source, rg.spec.line_of("inherits"), "'inherits' must be one group id",
                         "write inherits: primary")
            declared = None
        if implicit and declared and declared != implicit:
            errors.error(rg.source, rg.spec.line_of("inherits"),
                         f"group '{gid}' always inherits '{implicit}', not '{declared}'",
                         "remove 'inherits' (a grade inherits its level) or use a custom group id")
            declared = None
        parent = declared or implicit
        if parent is not None and parent not in raw.groups:
            errors.error(rg.source, rg.spec.line_of("inherits"), f"group '{gid}' inherits unknown group '{parent}'",
                         suggest(parent, raw.groups))
            parent = None
        parents[gid] = parent
    # Cycles.
    for gid in raw.groups:
        seen = [gid]
        p = parents[gid]
        while p is not None:
            if p in seen:
                rg = raw.groups[gid]
                errors.error(rg.source, rg.spec.line_of("inherits"),
                             f"inheritance loop: {' → '.join(seen + [p])}",
                             "make one of these groups stop inheriting")
                parents[gid] = None
                break
            seen.append(p)
            p = parents[p]
    groups: dict[str, Group] = {}

    def build(gid: str) -> Group:
        if gid in groups:
            return groups[gid]
        parent = parents[gid]
        base = build(parent) if parent else None
        groups[gid] = _compile_group(raw.groups[gid], base, raw, categories, errors, services)
        return groups[gid]

    for gid in raw.groups:
        build(gid)
    for gid, items in raw.overlays.items():
        if gid not in raw.groups:
            for _, osource, oline in items:
                errors.error(osource, oline, f"overlay for unknown group '{gid}'", suggest(gid, raw.groups))
    default = groups.get(DEFAULT_GROUP)
    if default is not None and default.kind is Kind.STAFF:
        rg = raw.groups[DEFAULT_GROUP]
        errors.error(rg.source, rg.line, "the 'default' group must not be a staff policy",
                     "unknown devices get a student policy: set kind: student or inherit a level")
    clients = compile_clients(raw.clients, groups, errors)
    return PolicySet(groups, {k: v[0] for k, v in raw.schedules.items()}, clients,
                     tuple(sorted({s for s, _ in files})))


def _bilingual_name(spec: LMap, gid: str, source: str, errors: Collector) -> tuple[str, str] | None:
    if "name" not in spec:
        return None
    value = spec["name"]
    if isinstance(value, str):
        return value, value
    if isinstance(value, LMap) and set(value) <= {"vi", "en"} and value:
        vi = value.get("vi", value.get("en"))
        en = value.get("en", value.get("vi"))
        return str(vi), str(en)
    errors.error(source, spec.line_of("name"), f"name of group '{gid}' must be text or {{vi: ..., en: ...}}",
                 "write name: {vi: \"Lớp 7\", en: \"Grade 7\"}")
    return None


def _setting(spec: LMap, key: str, base: Setting, source: str, errors: Collector) -> Setting:
    if key not in spec:
        return base
    value = spec[key]
    if value not in ("allow", "block"):
        errors.error(source, spec.line_of(key), f"'{key}' must be allow or block, not {value!r}",
                     f"write {key}: block")
        return Setting(Action.BLOCK, Origin(source, spec.line_of(key)))  # fail safe
    return Setting(Action(value), Origin(source, spec.line_of(key)))


def _compile_group(rg: _RawGroup, base: Group | None, raw: _Raw, categories: Categories,
                   errors: Collector, services: Services = NO_SERVICES) -> Group:
    spec, source, gid = rg.spec, rg.source, rg.id
    # identity
    names = _bilingual_name(spec, gid, source, errors)
    if names is None:
        names = _default_name(gid, base)
    # A built-in group keeps its kind even when it inherits rules from another group.
    kind = BUILTIN_KINDS.get(gid) or (base.kind if base else Kind.STUDENT)
    if "kind" in spec:
        k = spec["kind"]
        if k not in tuple(Kind):
            errors.error(source, spec.line_of("kind"), f"unknown kind '{k}'",
                         suggest(str(k), [x.value for x in Kind]))
        elif gid in BUILTIN_KINDS and Kind(k) is not BUILTIN_KINDS[gid]:
            errors.error(source, spec.line_of("kind"),
                         f"group '{gid}' is always kind '{BUILTIN_KINDS[gid]}'",
                         "remove 'kind' or use a custom group id")
        else:
            kind = Kind(k)
    level, grade = (base.level, base.grade) if base else (None, None)
    if gid in LEVELS:
        level, grade = gid, None
    elif gid.startswith("grade-") and builtin_parent(gid):
        grade = int(gid[6:])
        level = GRADE_LEVEL[grade]
    # categories: the parent's rules, overridden key by key
    cats: dict[str, CategoryRule] = dict(base.categories) if base else {}
    if "categories" in spec:
        cspec = spec["categories"]
        if not isinstance(cspec, LMap):
            errors.error(source, spec.line_of("categories"), "'categories' must map category ids to actions",
                         "write categories: {adult: block, games: {block_during: school-hours}}")
        else:
            for cat, action in cspec.items():
                rule = _category_rule(str(cat), action, Origin(source, cspec.line_of(cat)), raw,
                                      categories, errors)
                if rule is not None:
                    cats[str(cat)] = rule
    # explicit domain rules: the parent's, overridden domain by domain
    domains: dict[str, DomainRule] = dict(base.domains) if base else {}
    own = _domain_rules(spec, source, gid, errors)
    domains.update(own)
    closed_override: tuple[Schedule, Origin] | None = None
    for ospec, osource, oline in raw.overlays.get(gid, []):
        for domain, rule in _domain_rules(ospec, osource, gid, errors).items():
            current = domains.get(domain)
            if rule.action is Action.ALLOW and current is not None and current.action is Action.BLOCK:
                errors.error(osource, rule.origin.line, f"'{domain}' is denied for '{gid}' by the school's "
                             f"policy ({current.origin})", "only the IT admin can change that rule")
                continue
            domains[domain] = rule
        if "closed_during" in ospec:
            sched = str(ospec["closed_during"])
            if sched not in raw.schedules:
                errors.error(osource, ospec.line_of("closed_during"), f"unknown schedule '{sched}'",
                             suggest(sched, raw.schedules))
            else:
                closed_override = (raw.schedules[sched][0], Origin(osource, ospec.line_of("closed_during")))
    # URL rules add to the parent's
    urls = list(base.urls) if base else []
    if "deny_urls" in spec:
        items = spec["deny_urls"]
        if not isinstance(items, LList):
            errors.error(source, spec.line_of("deny_urls"), "'deny_urls' must be a list",
                         "write deny_urls: [youtube.com/shorts/, {regex: '...'}]")
        else:
            for i, item in enumerate(items):
                rule = _url_rule(item, Origin(source, items.line_of(i)), errors)
                if rule is not None:
                    urls.append(rule)
    builtin = Origin("(built-in default)")
    default_allow = Setting(Action.ALLOW, builtin)
    default_block = Setting(Action.BLOCK, builtin) if kind is not Kind.STAFF else default_allow
    unc = _setting(spec, "uncategorised", base.uncategorised if base else default_allow, source, errors)
    ipl = _setting(spec, "ip_literals", base.ip_literals if base else default_block, source, errors)
    closed = base.closed_during if base else None
    if "closed_during" in spec:
        value = spec["closed_during"]
        if value is None or value == "none":
            closed = None
        elif str(value) not in raw.schedules:
            errors.error(source, spec.line_of("closed_during"), f"unknown schedule '{value}'",
                         suggest(str(value), raw.schedules))
        else:
            closed = (raw.schedules[str(value)][0], Origin(source, spec.line_of("closed_during")))
    if closed_override is not None:
        closed = closed_override
    chain = (gid,) + (base.chain if base else ())
    content = parse_content(spec, base.content if base else defaults_for(kind), source, gid, errors)
    svc: dict[str, CategoryRule] = dict(base.services) if base else {}
    if "services" in spec:
        sspec = spec["services"]
        if not isinstance(sspec, LMap):
            errors.error(source, spec.line_of("services"), "'services' must map service ids to actions",
                         "write services: {tiktok: block, games: {block_during: school-hours}}")
        else:
            for key, action in sspec.items():
                rule = _service_rule(str(key), action, Origin(source, sspec.line_of(key)), raw, services, errors)
                if rule is not None:
                    svc[str(key)] = rule
    ports = base.open_ports if base else NO_PORTS
    if "open_ports" in spec:
        ports = parse_open_ports(spec["open_ports"], source, spec.line_of("open_ports"), gid, errors)
    return Group(gid, names[0], names[1], kind, level, grade, chain, cats, domains, tuple(urls),
                 unc, ipl, closed, content, svc, ports)


def _service_rule(key: str, action: Any, origin: Origin, raw: _Raw, services: Services,
                  errors: Collector) -> CategoryRule | None:
    """A group's rule for a named service or a service group (blocklists/services.yaml)."""
    src, line = origin.source, origin.line
    if key not in services.keys():
        errors.error(src, line, f"unknown service '{key}'",
                     suggest(key, services.keys()) + "; services are defined in blocklists/services.yaml")
        return None
    if isinstance(action, str) and action in CATEGORY_ACTIONS:
        return CategoryRule(action, origin)
    if isinstance(action, LMap) and len(action) == 1:
        (kind, sched), = action.items()
        if kind in SCHEDULED_ACTIONS and str(sched) in raw.schedules:
            return CategoryRule(str(kind), origin, raw.schedules[str(sched)][0])
        if kind in SCHEDULED_ACTIONS:
            errors.error(src, line, f"unknown schedule '{sched}' for service '{key}'",
                         suggest(str(sched), raw.schedules) + "; define it under 'schedules:'")
            return None
    errors.error(src, line, f"service action for '{key}' is not understood",
                 "write block, allow, {block_during: SCHEDULE} or {allow_during: SCHEDULE}")
    return None


def _domain_rules(spec: LMap, source: str, gid: str, errors: Collector) -> dict[str, DomainRule]:
    """The `allow` and `deny` lists of one group (or overlay) spec."""
    own: dict[str, DomainRule] = {}
    for key, action in (("allow", Action.ALLOW), ("deny", Action.BLOCK)):
        if key not in spec:
            continue
        items = spec[key]
        if not isinstance(items, LList):
            errors.error(source, spec.line_of(key), f"'{key}' must be a list of domains",
                         f"write {key}: [example.com, example.org]")
            continue
        for i, item in enumerate(items):
            line = items.line_of(i)
            if "/" in str(item):
                errors.error(source, line, f"'{item}' in {key} has a path",
                             "list domains only here; put URL patterns under deny_urls")
                continue
            try:
                domain = normalise_host(str(item).strip().removeprefix("*."))
            except HostError as e:
                errors.error(source, line, f"'{item}' in {key} is not a domain: {e}",
                             "write a host name such as example.com (no scheme, no path)")
                continue
            if domain in own:
                prev = own[domain]
                if prev.action is action:
                    errors.warn(source, line, f"'{domain}' is listed twice in {key} (also line {prev.origin.line})",
                                "remove one")
                else:
                    errors.error(source, line,
                                 f"'{domain}' is both allowed and denied in group '{gid}' "
                                 f"(also {prev.origin})", "keep it in one list only")
                continue
            own[domain] = DomainRule(action, domain, Origin(source, line), is_public_suffix(domain))
    return own


_DEFAULT_NAMES = {
    "preschool": ("Mầm non", "Preschool"),
    "primary": ("Tiểu học", "Primary school"),
    "lower-secondary": ("Trung học cơ sở", "Lower secondary school"),
    "upper-secondary": ("Trung học phổ thông", "Upper secondary school"),
    "staff": ("Giáo viên và nhân viên", "Staff"),
    "guest": ("Khách", "Guests"),
    "default": ("Thiết bị chưa đăng ký", "Unregistered devices"),
}


def _default_name(gid: str, base: Group | None) -> tuple[str, str]:
    if gid in _DEFAULT_NAMES:
        return _DEFAULT_NAMES[gid]
    if gid.startswith("grade-") and gid[6:].isdigit():
        return f"Lớp {gid[6:]}", f"Grade {gid[6:]}"
    return gid, gid


def _category_rule(cat: str, action: Any, origin: Origin, raw: _Raw, categories: Categories,
                   errors: Collector) -> CategoryRule | None:
    src, line = origin.source, origin.line
    if cat not in categories:
        resolved = categories.resolve(cat)
        if resolved:
            errors.error(src, line, f"'{cat}' is an alias of category '{resolved}'",
                         f"write '{resolved}'")
        else:
            errors.error(src, line, f"unknown category '{cat}'",
                         suggest(cat, categories.by_id) + "; categories are defined in blocklists/categories.yaml")
        return None
    locked = categories.by_id[cat].locked
    if isinstance(action, str):
        if action not in CATEGORY_ACTIONS:
            errors.error(src, line, f"category action for '{cat}' must be block or allow, not '{action}'",
                         suggest(action, CATEGORY_ACTIONS + SCHEDULED_ACTIONS))
            return None
        if action == "allow" and locked:
            errors.error(src, line, f"category '{cat}' is locked (illegal content) and cannot be allowed",
                         "remove this line; locked categories are blocked for everyone")
            return None
        return CategoryRule(action, origin)
    if isinstance(action, LMap) and len(action) == 1:
        (kind, sched), = action.items()
        if kind not in SCHEDULED_ACTIONS:
            errors.error(src, line, f"unknown scheduled action '{kind}' for '{cat}'",
                         suggest(str(kind), SCHEDULED_ACTIONS))
            return None
        if locked:
            errors.error(src, line, f"category '{cat}' is locked (illegal content) and cannot be scheduled",
                         "remove this line; locked categories are blocked at all times")
            return None
        if str(sched) not in raw.schedules:
            errors.error(src, line, f"unknown schedule '{sched}' for category '{cat}'",
                         suggest(str(sched), raw.schedules) + "; define it under 'schedules:'")
            return None
        return CategoryRule(kind, origin, raw.schedules[str(sched)][0])
    errors.error(src, line, f"category action for '{cat}' is not understood",
                 "write block, allow, {block_during: SCHEDULE} or {allow_during: SCHEDULE}")
    return None


def _url_rule(item: Any, origin: Origin, errors: Collector) -> UrlRule | None:
    src, line = origin.source, origin.line
    if isinstance(item, LMap) and len(item) == 1 and "regex" in item:
        pattern = str(item["regex"])
        try:
            return UrlRule(f"regex {pattern}", origin, regex=re.compile(pattern, re.IGNORECASE))
        except re.error as e:
            errors.error(src, line, f"regular expression '{pattern}' is invalid: {e}",
                         "check the brackets and escape dots as \\.")
            return None
    if isinstance(item, LMap) and len(item) == 1 and "prefix" in item:
        item = item["prefix"]
    if not isinstance(item, str):
        errors.error(src, line, "a URL rule must be text (a prefix) or {regex: ...}",
                     "write youtube.com/shorts/ or {regex: '^([a-z]+\\.)?example\\.com/games/'}")
        return None
    text = item.split("://", 1)[-1]
    host, slash, path = text.partition("/")
    if not slash:
        errors.error(src, line, f"URL rule '{item}' has no path",
                     "to deny a whole site, put it under 'deny'; URL rules look like example.com/path/")
        return None
    try:
        host = normalise_host(host)
    except HostError as e:
        errors.error(src, line, f"host in URL rule '{item}' is not valid: {e}", "write host/path")
        return None
    return UrlRule(f"prefix {host}/{path.lower()}", origin, host=host, path="/" + path.lower(),
                   exact=is_public_suffix(host))
