"""Selective interception: whether the policy needs to see inside an HTTPS
connection, decided on its names before anything is decrypted.

Decrypting TLS is the most expensive thing the proxy does, and most
connections do not need it: a categorised site that the group may use is
allowed whatever its pages say. A group with `tls: selective` has its HTTPS
decrypted when the site is blocked (to show the friendly block page instead of
a connection error) or when a check of core.decide.CHECKS that needs the path
or the content says, through its `inside` test, that it could act on this
host. The reasons, in the order of the list:

- blocked:      the site is blocked;
- safe_search:  a search engine or video site whose safe search, restricted
                mode or search terms the group reads, or which it blocks for
                having no safe search;
- path_rules:   URL rules for the site (a list's URL prefixes, the group's
                deny_urls, a regular expression rule, which may match any site);
- scanning:     page scanning or personal-information warnings apply to it.

Everything else passes through unread and is still filtered by every name it
carries. Checks without an `inside` test (image hashes, blocked file types) are
not applied to connections passed through; docs/gateway.md says so. Pure: no I/O.
"""

from __future__ import annotations

from .decide import BLOCKED, CHECKS, PATH_RULES, SAFE_SEARCH, SCANNING, Ask
from .model import Action, Verdict

REASONS = (BLOCKED, SAFE_SEARCH, PATH_RULES, SCANNING)


def inspection_reason(ask: Ask, verdict: Verdict) -> str | None:
    """Why this connection must be decrypted, or None to pass it through unread.

    `ask` is the decision for the site's front page and `verdict` its result."""
    if verdict.action is Action.BLOCK:
        return BLOCKED
    for check in CHECKS:
        if check.inside is not None:
            reason = check.inside(ask, verdict)
            if reason is not None:
                return reason
    return None
