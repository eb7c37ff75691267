"""The category catalogue (`blocklists/categories.yaml`): ids, names, locks."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import Collector, suggest
from .yamlsrc import LList, LMap

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
CATEGORY_KEYS = ("name", "description", "aliases", "locked", "safeguarding")


@dataclass(frozen=True)
class Category:
    id: str
    name_vi: str
    name_en: str
    description_vi: str = ""
    description_en: str = ""
    locked: bool = False
    aliases: tuple[str, ...] = ()
    line: int | None = None
    safeguarding: bool = False  # a match raises an alert for designated staff and shows help

    def name(self, lang: str) -> str:
        return self.name_vi if lang == "vi" else self.name_en


@dataclass(frozen=True)
class Categories:
    by_id: dict[str, Category]
    aliases: dict[str, str]  # alias → id

    def resolve(self, name: str) -> str | None:
        """A category id from an id or alias (for UT1 directory names)."""
        if name in self.by_id:
            return name
        return self.aliases.get(name)

    @property
    def locked(self) -> frozenset[str]:
        return frozenset(c.id for c in self.by_id.values() if c.locked)

    @property
    def safeguarding(self) -> frozenset[str]:
        return frozenset(c.id for c in self.by_id.values() if c.safeguarding)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.by_id.values())

    def __contains__(self, item: object) -> bool:
        return item in self.by_id


def _bilingual(value: object, source: str, line: int, what: str, errors: Collector) -> tuple[str, str]:
    if isinstance(value, str):
        return value, value
    if isinstance(value, dict):
        unknown = set(value) - {"vi", "en"}
        if unknown:
            errors.error(source, line, f"{what} has unknown language key(s) {sorted(unknown)}",
                         "use 'vi' and 'en'")
        vi, en = value.get("vi"), value.get("en")
        if not isinstance(vi, str) or not isinstance(en, str):
            errors.error(source, line, f"{what} needs both 'vi' and 'en' text",
                         "write it as {vi: \"...\", en: \"...\"}")
            return str(vi or en or ""), str(en or vi or "")
        return vi, en
    errors.error(source, line, f"{what} must be text or {{vi: ..., en: ...}}",
                 "write it as {vi: \"...\", en: \"...\"}")
    return "", ""


def parse_categories(data: object, source: str, errors: Collector) -> Categories:
    by_id: dict[str, Category] = {}
    aliases: dict[str, str] = {}
    if not isinstance(data, LMap) or set(data) != {"categories"}:
        errors.error(source, getattr(data, "line", 1),
                     "expected one top-level key 'categories'",
                     "start the file with 'categories:' and one entry per category")
        return Categories({}, {})
    cats = data["categories"]
    if not isinstance(cats, LMap):
        errors.error(source, data.line_of("categories"), "'categories' must be a mapping of id to details",
                     "write 'adult: {name: {vi: ..., en: ...}}'")
        return Categories({}, {})
    for cid, spec in cats.items():
        line = cats.line_of(cid)
        if not isinstance(cid, str) or not _ID.match(cid):
            errors.error(source, line, f"category id '{cid}' is not valid",
                         "use lower-case letters, digits and '_' (for example 'social_networks')")
            continue
        if not isinstance(spec, LMap):
            errors.error(source, line, f"category '{cid}' needs details",
                         "give at least name: {vi: ..., en: ...}")
            continue
        for key in spec:
            if key not in CATEGORY_KEYS:
                errors.error(source, spec.line_of(key), f"unknown key '{key}' in category '{cid}'",
                             suggest(str(key), CATEGORY_KEYS))
        if "name" not in spec:
            errors.error(source, line, f"category '{cid}' has no name", "add name: {vi: ..., en: ...}")
        name_vi, name_en = _bilingual(spec.get("name", cid), source, spec.line_of("name"), "name", errors)
        desc_vi, desc_en = ("", "")
        if "description" in spec:
            desc_vi, desc_en = _bilingual(spec["description"], source, spec.line_of("description"),
                                          "description", errors)
        locked = spec.get("locked", False)
        if not isinstance(locked, bool):
            errors.error(source, spec.line_of("locked"), "'locked' must be true or false", "write locked: true")
            locked = True  # fail safe: a malformed lock never unlocks
        safeguarding = spec.get("safeguarding", False)
        if not isinstance(safeguarding, bool):
            errors.error(source, spec.line_of("safeguarding"), "'safeguarding' must be true or false",
                         "write safeguarding: true")
            safeguarding = True
        al = spec.get("aliases", LList())
        if not isinstance(al, list) or not all(isinstance(a, str) for a in al):
            errors.error(source, spec.line_of("aliases"), "'aliases' must be a list of names",
                         "write aliases: [agressif, aggressive]")
            al = LList()
        for a in al:
            if a in cats or a in aliases:
                errors.error(source, spec.line_of("aliases"), f"alias '{a}' is already used",
                             "each alias may name one category only")
            aliases[a] = cid
        by_id[cid] = Category(cid, name_vi, name_en, desc_vi, desc_en, locked, tuple(al), line, safeguarding)
    return Categories(by_id, aliases)
