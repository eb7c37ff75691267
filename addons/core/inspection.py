"""Selective interception: whether the policy needs to see inside an HTTPS
connection, decided on its server name (TLS SNI) before anything is decrypted.

Decrypting TLS is the most expensive thing the proxy does, and most
connections do not need it: a categorised site that the group may use is
allowed whatever its pages say. A group with `tls: selective` has its HTTPS
decrypted only when one of these needs the content:

- blocked:      the site is blocked: decrypt to show the friendly block page
                (and to offer "ask for a review") instead of a connection error;
- safe_search:  a search engine or video site whose safe-search or restricted
                mode the group enforces (it rewrites requests), or whose
                search queries the group scans;
- path_rules:   the site has URL rules (a list's URL prefixes, the group's
                deny_urls, or a regular expression rule, which may match any site);
- scanning:     the site is in no category and the group scans uncategorised
                pages (phrase scanning and personal-information warnings), or
                the group scans all pages.

Everything else passes through unread and is still filtered by name. What a
passed-through connection does not get: image hashing against the
authorities' lists, blocked file types and time windows that start during a
long-lived connection (docs/gateway.md says so). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from .content import ContentRules
from .domains import candidates
from .model import Action, Reason, Verdict
from .policy import Group
from .safesearch import Engines

BLOCKED = "blocked"
SAFE_SEARCH = "safe_search"
PATH_RULES = "path_rules"
SCANNING = "scanning"
REASONS = (BLOCKED, SAFE_SEARCH, PATH_RULES, SCANNING)


class PathLists(Protocol):
    def has_paths(self, host: str) -> bool: ...


def _reads_searches(rules: ContentRules) -> bool:
    return (rules.safe_search or rules.youtube != "off" or rules.unsupported_search == "block"
            or rules.search_threshold is not None)


def _group_paths(group: Group, names: Iterable[str]) -> bool:
    wanted = set(names)
    return any(u.regex is not None or u.host in wanted for u in group.urls)


def inspection_reason(host: str, group: Group, verdict: Verdict, lists: PathLists, engines: Engines,
                      scanning: bool) -> str | None:
    """Why this connection must be decrypted, or None to pass it through unread.

    `verdict` is the group's decision for the site's front page; `scanning` says
    whether page scanning is possible at all (phrase lists are loaded)."""
    if verdict.action is Action.BLOCK:
        return BLOCKED
    rules = group.content
    if engines.match(host) is not None and _reads_searches(rules):
        return SAFE_SEARCH
    names = candidates(host)
    if lists.has_paths(host) or _group_paths(group, names):
        return PATH_RULES
    if verdict.reason in (Reason.ALLOWLIST, Reason.OVERRIDE):
        return None  # a site adults chose explicitly is not scanned
    scans = scanning and rules.phrase_threshold is not None and rules.scan_pages != "off"
    wants_info = rules.personal_info == "warn"
    if rules.scan_pages == "all" and scans:
        return SCANNING
    if not verdict.categories and (scans or wants_info):
        return SCANNING
    return None
