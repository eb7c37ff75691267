"""A group's content controls: safe search, phrase scanning, personal-information
warnings and blocked file types. Parsed from the group's keys, inherited key by
key like every other rule."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import Collector
from .model import Kind, Origin
from .yamlsrc import LList, LMap

CONTENT_KEYS = ("safe_search", "youtube", "unsupported_search", "phrase_threshold", "search_threshold",
                "scan_pages", "personal_info", "block_files", "tls")
TLS_MODES = ("intercept", "selective", "sni")
YOUTUBE_MODES = ("strict", "moderate", "off")
SCAN_MODES = ("uncategorised", "all", "off")
_EXT = re.compile(r"^\.?[a-z0-9]{1,12}$")
_MIME = re.compile(r"^[a-z0-9.+-]+/[a-z0-9.+*-]+$")


@dataclass(frozen=True)
class ContentRules:
    safe_search: bool = True  # force safe search on the engines of blocklists/safesearch.yaml
    youtube: str = "strict"  # YouTube restricted mode: strict | moderate | off
    unsupported_search: str = "allow"  # engines with no safe-search mechanism: allow | block
    phrase_threshold: int | None = 100  # page score that blocks; None: no page scanning
    search_threshold: int | None = 30  # search-query score that blocks; None: queries not scanned
    scan_pages: str = "uncategorised"  # which pages are scanned: uncategorised | all | off
    personal_info: str = "warn"  # warn before personal data is posted to unknown sites | off
    block_extensions: frozenset[str] = frozenset()
    block_mime: frozenset[str] = frozenset()
    tls: str = "intercept"  # intercept: inspect HTTPS; selective: only where the policy needs it (core.inspection);
    # sni: decide on the server name only, never decrypt
    origins: dict[str, Origin] = field(default_factory=dict)  # key → where it was set

    def origin(self, key: str) -> Origin:
        return self.origins.get(key, Origin("(built-in default)"))


STAFF_DEFAULTS = ContentRules(safe_search=False, youtube="off", phrase_threshold=None, search_threshold=None,
                              scan_pages="off", personal_info="off")


def defaults_for(kind: Kind) -> ContentRules:
    return STAFF_DEFAULTS if kind is Kind.STAFF else ContentRules()


def _threshold(value: Any) -> int | None:
    if value in ("off", None, False):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError
    return value


def parse_content(spec: LMap, base: ContentRules, source: str, gid: str, errors: Collector) -> ContentRules:
    """The group's own content keys over `base` (its parent's, or the defaults of its kind)."""
    changes: dict[str, Any] = {}
    origins = dict(base.origins)

    def bad(key: str, message: str, fix: str) -> None:
        errors.error(source, spec.line_of(key), f"{key} of group '{gid}' {message}", fix)

    for key in CONTENT_KEYS:
        if key not in spec:
            continue
        value = spec[key]
        origins[key] = Origin(source, spec.line_of(key))
        if key == "safe_search":
            if not isinstance(value, bool):
                bad(key, "must be true or false", "write safe_search: true")
                value = True  # fail safe
            changes[key] = value
        elif key in ("youtube", "unsupported_search", "scan_pages", "personal_info", "tls"):
            choices = {"youtube": YOUTUBE_MODES, "unsupported_search": ("allow", "block"),
                       "scan_pages": SCAN_MODES, "personal_info": ("warn", "off"), "tls": TLS_MODES}[key]
            if value not in choices:
                bad(key, f"must be one of {', '.join(choices)}, not {value!r}", f"write {key}: {choices[0]}")
                value = choices[0]
            changes[key] = value
        elif key in ("phrase_threshold", "search_threshold"):
            try:
                changes[key] = _threshold(value)
            except ValueError:
                bad(key, f"must be a positive whole number or off, not {value!r}", f"write {key}: 80")
        elif key == "block_files":
            exts, mimes = set(), set()
            if not isinstance(value, LList):
                bad(key, "must be a list of file extensions or MIME types", "write block_files: [exe, apk, "
                    "application/x-bittorrent]")
                continue
            for i, item in enumerate(value):
                text = str(item).strip().lower()
                if "/" in text and _MIME.match(text):
                    mimes.add(text)
                elif _EXT.match(text):
                    exts.add(text.lstrip("."))
                else:
                    errors.error(source, value.line_of(i), f"'{item}' in block_files is not an extension or "
                                 "MIME type", "write an extension such as exe or a type such as "
                                 "application/vnd.android.package-archive")
            changes["block_extensions"] = frozenset(exts)
            changes["block_mime"] = frozenset(mimes)
    return replace(base, origins=origins, **changes)
