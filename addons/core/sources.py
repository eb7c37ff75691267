"""List sources (`blocklists/sources.yaml`): where lists come from, in which
format, for which categories, how often, and whether they must be signed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .categories import Categories
from .errors import Collector, suggest
from .yamlsrc import LMap, check_keys


class SourceFormat(StrEnum):
    UT1 = "ut1-tarball"  # blacklists.tar.gz: <dir>/<category>/domains and urls, all categories at once
    DOMAINS = "domains"
    HOSTS = "hosts"
    ADBLOCK = "adblock"
    URLS = "urls"
    HASHES = "hashes"  # image hashes (sha256 / md5 / pdq lines) for a locked category
    BASELINE = "baseline"  # the department's baseline (YAML): categories each school level must block
    AUTO = "auto"  # detect each line (plain, hosts or Adblock)


SOURCE_KEYS = ("url", "path", "format", "category", "categories", "refresh", "max_size", "timeout",
               "locked", "signature", "public_key", "enabled", "description")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|k|mb|m|gb|g)?\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZES = {"b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "g": 1 << 30, "gb": 1 << 30}


def parse_duration(value: Any) -> float:
    """'90s', '30m', '12h', '1d' or a number of seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"'{value}' is not a duration (write 30s, 15m, 12h or 1d)")
    return float(m.group(1)) * _UNITS[m.group(2) or "s"]


def parse_size(value: Any) -> int:
    """'500k', '50MB', '1g' or a number of bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    m = _SIZE.match(str(value))
    if not m:
        raise ValueError(f"'{value}' is not a size (write 500KB, 50MB or 1GB)")
    return int(float(m.group(1)) * _SIZES[(m.group(2) or "b").lower()])


@dataclass(frozen=True)
class Source:
    name: str
    url: str | None
    path: str | None
    format: SourceFormat
    categories: dict[str, str]  # for UT1: its category name → ours; else {"*": ours}
    refresh: float = 86_400.0
    max_size: int = 200 << 20
    timeout: float = 120.0
    locked: bool = False
    signature: bool = False  # a detached Ed25519 signature (<url>.sig) is required
    public_key: str = ""  # base64 key; empty: the `authority_public_key` setting
    enabled: bool = True
    line: int = 0
    source_file: str = ""
    targets: tuple[str, ...] = field(default=())  # our categories it feeds

    @property
    def location(self) -> str:
        return self.url or self.path or ""


def parse_sources(data: Any, source_file: str, categories: Categories, errors: Collector) -> list[Source]:
    if data is None:
        return []
    if not isinstance(data, LMap):
        errors.error(source_file, getattr(data, "line", 1), "expected a mapping with the key 'sources'",
                     "start the file with 'sources:'")
        return []
    check_keys(data, ("sources",), "the sources file", source_file, errors)
    items = data.get("sources")
    if items is None:
        return []
    if not isinstance(items, LMap):
        errors.error(source_file, data.line_of("sources"), "'sources' must map source names to settings",
                     "write 'hostsvn-adult: {url: ..., format: hosts, category: adult}'")
        return []
    out = []
    for name, spec in items.items():
        line = items.line_of(name)
        name = str(name)
        if not _NAME.match(name):
            errors.error(source_file, line, f"source name '{name}' is not valid",
                         "use lower-case letters, digits, '-' and '_'")
            continue
        if not isinstance(spec, LMap):
            errors.error(source_file, line, f"source '{name}' needs settings",
                         "give at least url (or path), format and category")
            continue
        src = _parse_one(name, spec, line, source_file, categories, errors)
        if src is not None:
            out.append(src)
    return out


def _parse_one(name: str, spec: LMap, line: int, sf: str, categories: Categories,
               errors: Collector) -> Source | None:
    before = len(errors.errors)
    check_keys(spec, SOURCE_KEYS, f"source '{name}'", sf, errors)
    url, path = spec.get("url"), spec.get("path")
    if (url is None) == (path is None):
        errors.error(sf, line, f"source '{name}' needs exactly one of url or path",
                     "give url: https://... for a download or path: /srv/lists/x.txt for a local file")
    if url is not None and not str(url).startswith(("http://", "https://")):
        errors.error(sf, spec.line_of("url"), f"url of source '{name}' must start with https:// or http://",
                     "use the list's download address")
    fmt_text = str(spec.get("format", "auto"))
    try:
        fmt = SourceFormat(fmt_text)
    except ValueError:
        errors.error(sf, spec.line_of("format"), f"unknown format '{fmt_text}' for source '{name}'",
                     suggest(fmt_text, [f.value for f in SourceFormat]))
        fmt = SourceFormat.AUTO
    mapping: dict[str, str] = {}
    if fmt is SourceFormat.UT1:
        cats = spec.get("categories", "auto")
        if cats == "auto":
            mapping = {"auto": "auto"}
        elif isinstance(cats, LMap):
            for theirs, ours in cats.items():
                if str(ours) not in categories:
                    errors.error(sf, cats.line_of(theirs), f"unknown category '{ours}'",
                                 suggest(str(ours), categories.by_id))
                mapping[str(theirs)] = str(ours)
        else:
            errors.error(sf, spec.line_of("categories"), "categories must map UT1 names to ours, or be auto",
                         "write categories: {agressif: violence, drogue: drugs}")
        if "category" in spec:
            errors.error(sf, spec.line_of("category"), "a UT1 archive feeds many categories",
                         "use categories: (a mapping) instead of category:")
    elif fmt is SourceFormat.BASELINE:
        if "category" in spec or "categories" in spec:
            errors.error(sf, spec.line_of("category") if "category" in spec else spec.line_of("categories"),
                         "a baseline feeds no category", "remove category: (the baseline names its categories)")
        if spec.get("signature") != "required":
            errors.error(sf, line, f"baseline source '{name}' must be signed",
                         "add signature: required (the department signs its baseline)")
    else:
        cat = spec.get("category")
        if cat is None:
            errors.error(sf, line, f"source '{name}' has no category", "add category: <id from categories.yaml>")
        elif str(cat) not in categories:
            errors.error(sf, spec.line_of("category"), f"unknown category '{cat}'",
                         suggest(str(cat), categories.by_id))
        else:
            mapping = {"*": str(cat)}
    values: dict[str, Any] = {}
    for key, parser, default in (("refresh", parse_duration, 86_400.0), ("timeout", parse_duration, 120.0),
                                 ("max_size", parse_size, 200 << 20)):
        try:
            values[key] = parser(spec[key]) if key in spec else default
        except ValueError as e:
            errors.error(sf, spec.line_of(key), f"{key} of source '{name}': {e}", f"for example {key}: "
                         + {"refresh": "12h", "timeout": "60s", "max_size": "50MB"}[key])
            values[key] = default
    if values["refresh"] < 60:
        errors.error(sf, spec.line_of("refresh"), f"refresh of source '{name}' is under a minute",
                     "lists change daily at most; use 1h or more")
    flags: dict[str, bool] = {}
    for key, default in (("locked", False), ("enabled", True)):
        v = spec.get(key, default)
        if not isinstance(v, bool):
            errors.error(sf, spec.line_of(key), f"{key} must be true or false", f"write {key}: true")
            v = key == "locked"  # fail safe: a malformed lock stays locked
        flags[key] = v
    sig = spec.get("signature", "none")
    if sig not in ("required", "none"):
        errors.error(sf, spec.line_of("signature"), f"signature must be 'required' or 'none', not {sig!r}",
                     "write signature: required for authority lists")
    targets = tuple(sorted(set(mapping.values()) - {"auto"}))
    if flags["locked"]:
        for cat in targets:
            if cat in categories and not categories.by_id[cat].locked:
                errors.error(sf, spec.line_of("locked"), f"source '{name}' is locked but feeds category "
                             f"'{cat}', which is not locked", f"mark '{cat}' locked: true in categories.yaml, "
                             "or feed a locked category")
        if sig != "required":
            errors.error(sf, spec.line_of("locked"), f"locked source '{name}' must be signed",
                         "add signature: required (authority lists are verified before use)")
    if fmt is SourceFormat.HASHES and not flags["locked"]:
        errors.error(sf, spec.line_of("format"), f"image-hash source '{name}' must be locked",
                     "add locked: true and signature: required (hash lists come from the authorities)")
    if len(errors.errors) > before:
        return None
    return Source(name, None if url is None else str(url), None if path is None else str(path), fmt, mapping,
                  values["refresh"], values["max_size"], values["timeout"], flags["locked"], sig == "required",
                  str(spec.get("public_key", "")), flags["enabled"], line, sf, targets)
