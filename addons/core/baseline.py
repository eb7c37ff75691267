"""The department's baseline: per school level, the categories every school
must block, the categories that must be locked, and the least safe search
allowed. A school subscribes to it like a list source (signed); its policy may
be stricter, never looser.

    version: "2026-12"
    locked: [csam]
    levels:
      primary:
        block: [adult, gambling, violence, dating]
        safe_search: true
        youtube: strict

Applied when the policy loads: a student group of a listed level that does
not block a required category at all times blocks it anyway, and safe search
and YouTube restricted mode are raised to the baseline. Every place where the
local policy was looser is reported, with its file and line, by `schoolgate
check` and at reload (as warnings: the stricter rule applies, nothing breaks).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .categories import Categories
from .errors import Collector
from .model import Kind, Origin
from .policy import CategoryRule, PolicySet
from .yamlsrc import LList, LMap, check_keys

LEVELS = ("preschool", "primary", "lower-secondary", "upper-secondary")
YOUTUBE_ORDER = {"off": 0, "moderate": 1, "strict": 2}
TOP_KEYS = ("version", "levels", "locked", "description")
LEVEL_KEYS = ("block", "safe_search", "youtube")


@dataclass(frozen=True)
class LevelBaseline:
    block: tuple[str, ...] = ()
    safe_search: bool = False
    youtube: str = "off"


@dataclass(frozen=True)
class Baseline:
    version: str
    source: str
    levels: dict[str, LevelBaseline] = field(default_factory=dict)
    locked: tuple[str, ...] = ()


@dataclass(frozen=True)
class Conflict:
    """A place where the school's policy was looser than the baseline."""

    group: str
    what: str
    origin: Origin | None

    def __str__(self) -> str:
        return self.what


def parse_baseline(data: Any, source: str, categories: Categories, errors: Collector) -> Baseline | None:
    if not isinstance(data, LMap):
        errors.error(source, getattr(data, "line", 1), "the baseline must be a mapping with version and levels",
                     "start with 'version: \"2026-12\"' and 'levels:'")
        return None
    before = len(errors.errors)
    check_keys(data, TOP_KEYS, "the baseline", source, errors)
    version = data.get("version")
    if not isinstance(version, (str, int)) or not str(version).strip():
        errors.error(source, data.line_of("version"), "the baseline has no version",
                     "add version: \"2026-12\" (schools report which version they run)")
    locked = _names(data.get("locked", LList()), "locked", data, source, categories, errors)
    for cat in locked:
        if cat in categories and not categories.by_id[cat].locked:
            errors.error(source, data.line_of("locked"), f"the baseline requires category '{cat}' to be locked",
                         f"mark {cat} as locked: true in blocklists/categories.yaml")
    levels: dict[str, LevelBaseline] = {}
    raw_levels = data.get("levels")
    if not isinstance(raw_levels, LMap):
        errors.error(source, data.line_of("levels"), "levels must map a school level to its rules",
                     "write levels: {primary: {block: [adult, gambling]}}")
        raw_levels = LMap()
        raw_levels.lines = {}
    for level, spec in raw_levels.items():
        line = raw_levels.line_of(level)
        if level not in LEVELS:
            errors.error(source, line, f"unknown school level '{level}'", f"use one of {', '.join(LEVELS)}")
            continue
        if not isinstance(spec, LMap):
            errors.error(source, line, f"level '{level}' must be a mapping",
                         "write primary: {block: [adult], safe_search: true}")
            continue
        check_keys(spec, LEVEL_KEYS, f"level '{level}'", source, errors)
        block = _names(spec.get("block", LList()), "block", spec, source, categories, errors)
        safe = spec.get("safe_search", False)
        if not isinstance(safe, bool):
            errors.error(source, spec.line_of("safe_search"), "safe_search must be true or false", "")
            safe = False
        youtube = spec.get("youtube", "off")
        if youtube not in YOUTUBE_ORDER:
            errors.error(source, spec.line_of("youtube"), f"youtube must be one of {', '.join(YOUTUBE_ORDER)}", "")
            youtube = "off"
        levels[level] = LevelBaseline(tuple(block), safe, youtube)
    if len(errors.errors) > before:
        return None
    return Baseline(str(version).strip(), source, levels, tuple(locked))


def _names(value: Any, key: str, spec: LMap, source: str, categories: Categories, errors: Collector) -> list[str]:
    if not isinstance(value, list):
        errors.error(source, spec.line_of(key), f"{key} must be a list of category ids", f"write {key}: [adult]")
        return []
    out = []
    for i, item in enumerate(value):
        line = value.line_of(i) if isinstance(value, LList) else spec.line_of(key)
        if not isinstance(item, str) or item not in categories:
            errors.error(source, line, f"unknown category '{item}' in {key}",
                         "use the ids of blocklists/categories.yaml (the department and schools share them)")
            continue
        out.append(item)
    return out


def apply_baseline(policy: PolicySet, baseline: Baseline) -> tuple[PolicySet, list[Conflict]]:
    """The policy with the baseline enforced, and every place it was looser (one
    conflict per looser rule, naming the groups that inherit it)."""
    found: dict[tuple[str, Origin | None], list[str]] = {}
    groups = dict(policy.groups)
    origin = Origin(f"department baseline {baseline.version}")
    for gid, group in policy.groups.items():
        rules = baseline.levels.get(group.level or "")
        if rules is None or group.kind is not Kind.STUDENT:
            continue
        categories = dict(group.categories)
        changed = False
        for cat in rules.block:
            rule = categories.get(cat)
            if rule is not None and rule.action == "block":
                continue
            was = f"no rule for {cat}" if rule is None else rule.describe(cat)
            found.setdefault((f"{was} is looser than the department baseline {baseline.version}, which blocks "
                              f"{cat} for {group.level}; the baseline applies", rule.origin if rule else None),
                             []).append(gid)
            categories[cat] = CategoryRule("block", origin)
            changed = True
        content = group.content
        if rules.safe_search and not content.safe_search:
            found.setdefault((f"safe_search off is looser than the department baseline {baseline.version}; "
                              "safe search is forced", content.origins.get("safe_search")), []).append(gid)
            content = replace(content, safe_search=True, origins={**content.origins, "safe_search": origin})
        if YOUTUBE_ORDER[content.youtube] < YOUTUBE_ORDER[rules.youtube]:
            found.setdefault((f"youtube {content.youtube} is looser than the department baseline "
                              f"{baseline.version} ({rules.youtube}); {rules.youtube} applies",
                              content.origins.get("youtube")), []).append(gid)
            content = replace(content, youtube=rules.youtube, origins={**content.origins, "youtube": origin})
        if changed or content is not group.content:
            groups[gid] = replace(group, categories=categories, content=content)
    conflicts = [Conflict(", ".join(gids), f"{what} (groups {', '.join(gids)})", where)
                 for (what, where), gids in found.items()]
    return replace(policy, groups=groups), conflicts
