"""The decision: one ordered list of checks (`CHECKS`), read by every part that
decides anything: the request decision below, selective interception
(core.inspection), the TLS and CONNECT decisions (addons/tls_policy.py,
addons/connections.py), `schoolgate explain` and the block page. A new rule is
one entry here; nothing else has to learn about it.

Each check says what it needs to see:
- NAME     the host name (and port): known at CONNECT, in the TLS server name,
           in a DNS question, before anything is decrypted;
- PATH     the request's path and query: only inside the connection;
- CONTENT  a body (the page, an image, what a child posts).

Three phases. `connection` checks look at the connection itself: its port, its
protocol, every name it carries and where they lead (core.layers; addons apply
them). `policy` checks: first match wins, allow or block (docs/policies.md,
"Precedence"); decide() applies them. `allowed` checks run only on what the
policy allowed and may still block or change it; addons apply them (the `by`
field names which).

A check that needs more than the name has an `inside` test: whether, for this
host, it could act once the connection is read. Selective interception
decrypts exactly when one says so; a check without one (image hashes, file
types) is not applied to connections passed through unread, which
docs/gateway.md says. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Protocol

from .domains import candidates, ip_literal
from .lists import Hit
from .model import Action, Origin, Reason, RequestView, Verdict
from .overrides import NONE, Overrides
from .policy import Group
from .safesearch import Engines
from .services import Services


class Lists(Protocol):
    def lookup(self, host: str, path: str | None = None) -> list[Hit]: ...

    def has_paths(self, host: str) -> bool: ...


class Needs(IntEnum):
    NAME = 0
    PATH = 1
    CONTENT = 2


# Why a `tls: selective` connection is decrypted (core.inspection, metrics).
BLOCKED = "blocked"
SAFE_SEARCH = "safe_search"
PATH_RULES = "path_rules"
SCANNING = "scanning"


@dataclass(frozen=True, slots=True)
class Ask:
    """Everything one decision reads. A decision on a name alone (a CONNECT, a
    TLS ClientHello, a DNS question) is the decision for the site's front page,
    path "/"; the `inside` tests say whether reading the connection could change it."""

    req: RequestView
    group: Group
    lists: Lists
    now: datetime
    overrides: Overrides = NONE
    engines: Engines | None = None
    services: Services | None = None
    hits: tuple[Hit, ...] = ()
    scanning: bool = True  # phrase lists are loaded (for the `inside` tests of scanning)

    @property
    def cats(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(h.category for h in self.hits))


def make_ask(req: RequestView, group: Group, lists: Lists, now: datetime, overrides: Overrides = NONE,
             engines: Engines | None = None, services: Services | None = None, scanning: bool = True) -> Ask:
    return Ask(req, group, lists, now, overrides, engines, services, tuple(lists.lookup(req.host, req.path)),
               scanning)


@dataclass(frozen=True)
class Check:
    id: str
    needs: Needs
    summary: str
    step: Callable[[Ask], Verdict | None] | None = None  # policy phase: decided here
    inside: Callable[[Ask, Verdict], str | None] | None = None  # why the connection must be read for it
    phase: str = "policy"  # policy | allowed
    by: str = "core.decide"  # who applies it


def file_extension(path: str) -> str:
    """The lower-case extension of the last path segment ('' if none)."""
    last = path.rsplit("/", 1)[-1]
    if "." not in last:
        return ""
    return last.rsplit(".", 1)[1].lower()


def _hhmm(ts: int, now: datetime) -> str:
    return datetime.fromtimestamp(ts, now.tzinfo).strftime("%H:%M")


def _verdict(group: Group, action: Action, reason: Reason, **kw: object) -> Verdict:
    return Verdict(action, reason, group.id, group.grade, group.level, **kw)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- policy checks

def _locked(a: Ask) -> Verdict | None:
    for h in a.hits:
        if h.locked:
            # The entry itself (a URL of abuse material) is never repeated: only its line.
            return _verdict(a.group, Action.BLOCK, Reason.ILLEGAL, category=h.category, categories=a.cats,
                            rule=f"locked list {h.source}, entry {h.line}: nothing unblocks it, for any group",
                            origin=Origin(h.source, h.line), matched=f"entry {h.line}")
    return None


def _paths_listed(a: Ask, verdict: Verdict) -> str | None:
    return PATH_RULES if a.lists.has_paths(a.req.host) else None


def _file_type(a: Ask) -> Verdict | None:
    content = a.group.content
    if content.block_extensions:
        ext = file_extension(a.req.path)
        if ext in content.block_extensions:
            return _verdict(a.group, Action.BLOCK, Reason.FILETYPE, categories=a.cats,
                            rule=f"block_files: {ext}", origin=content.origin("block_files"), matched=ext)
    return None


def _overrides(a: Ask) -> Verdict | None:
    if not a.overrides:
        return None
    host, now, group = a.req.host, a.now, a.group
    active = a.overrides.active(group.chain, now.timestamp())
    for o in active:
        if o.kind == "unblock" and (name := o.covers(host)):
            return _verdict(group, Action.ALLOW, Reason.OVERRIDE, categories=a.cats,
                            rule=f"override #{o.id}: unblock {name} until {_hhmm(o.ends, now)}",
                            origin=Origin(f"override #{o.id} by {o.created_by or 'a teacher'}"), matched=name)
    focus = [o for o in active if o.kind == "focus"]
    for o in focus:
        if name := o.covers(host):
            return _verdict(group, Action.ALLOW, Reason.OVERRIDE, categories=a.cats,
                            rule=f"focus #{o.id}: {name} is on the lesson's list",
                            origin=Origin(f"override #{o.id} by {o.created_by or 'a teacher'}"), matched=name)
    if focus:
        o = focus[0]
        return _verdict(group, Action.BLOCK, Reason.FOCUS, categories=a.cats,
                        rule=f"focus #{o.id} until {_hhmm(o.ends, now)}: only {', '.join(o.domains)}",
                        origin=Origin(f"override #{o.id} by {o.created_by or 'a teacher'}"))
    return None


def _unsafe_engine(a: Ask):  # type: ignore[no-untyped-def]
    content = a.group.content
    if a.engines is None or content.unsupported_search != "block" or not content.safe_search:
        return None
    engine = a.engines.match(a.req.host)
    return engine if engine is not None and not engine.supported else None


def _unsupported_search(a: Ask) -> Verdict | None:
    engine = _unsafe_engine(a)
    if engine is not None and engine.is_search(a.req.path):
        content = a.group.content
        return _verdict(a.group, Action.BLOCK, Reason.SAFESEARCH, categories=a.cats,
                        rule=f"unsupported_search: block ({engine.name} has no safe search)",
                        origin=content.origin("unsupported_search"), matched=engine.id)
    return None


def _unsupported_search_inside(a: Ask, verdict: Verdict) -> str | None:
    return SAFE_SEARCH if _unsafe_engine(a) is not None else None


def _deny_urls(a: Ask) -> Verdict | None:
    group, host, req = a.group, a.req.host, a.req
    if not group.urls:
        return None
    target = host + req.path.lower()
    full = host + req.path + (f"?{req.query}" if req.query else "")
    cands = candidates(host)
    for u in group.urls:
        if u.regex is not None:
            if u.regex.search(full):
                return _verdict(group, Action.BLOCK, Reason.URL, categories=a.cats,
                                rule=f"deny_urls: {u.text}", origin=u.origin, matched=u.text)
        elif u.host in cands and (not u.exact or u.host == host) and target[len(host):].startswith(u.path):
            return _verdict(group, Action.BLOCK, Reason.URL, categories=a.cats,
                            rule=f"deny_urls: {u.text}", origin=u.origin, matched=f"{u.host}{u.path}")
    return None


def _deny_urls_inside(a: Ask, verdict: Verdict) -> str | None:
    wanted = set(candidates(a.req.host))
    return PATH_RULES if any(u.regex is not None or u.host in wanted for u in a.group.urls) else None


def _domain_rules(a: Ask) -> Verdict | None:
    host, group = a.req.host, a.group
    for name in candidates(host):
        rule = group.domains.get(name)
        if rule is not None and (not rule.exact or name == host):
            if rule.action is Action.ALLOW:
                return _verdict(group, Action.ALLOW, Reason.ALLOWLIST, categories=a.cats,
                                rule=f"allow: {name}", origin=rule.origin, matched=name)
            return _verdict(group, Action.BLOCK, Reason.DENIED, categories=a.cats,
                            rule=f"deny: {name}", origin=rule.origin, matched=name)
    return None


def _ip_literals(a: Ask) -> Verdict | None:
    group = a.group
    if group.ip_literals.action is Action.BLOCK and ip_literal(a.req.host) is not None:
        return _verdict(group, Action.BLOCK, Reason.IP_LITERAL, categories=a.cats,
                        rule="ip_literals: block", origin=group.ip_literals.origin, matched=a.req.host)
    return None


def _closed_during(a: Ask) -> Verdict | None:
    if a.group.closed_during is not None:
        schedule, origin = a.group.closed_during
        if schedule.active(a.now):
            return _verdict(a.group, Action.BLOCK, Reason.SCHEDULE, categories=a.cats,
                            rule=f"closed_during: {schedule.name}", origin=origin)
    return None


def _services(a: Ask) -> Verdict | None:
    group, services, now = a.group, a.services, a.now
    if not group.services or services is None:
        return None
    for sid in services.match(a.req.host, a.cats):
        for key in (sid, services.by_id[sid].group):
            srule = group.services.get(key)
            if srule is None or srule.action == "allow":
                continue
            if srule.schedule is not None and (srule.action == "block_during") != srule.schedule.active(now):
                continue
            return _verdict(group, Action.BLOCK, Reason.SERVICE, categories=a.cats,
                            rule=f"services.{key}: {srule.action}"
                                 + (f" {srule.schedule.name}" if srule.schedule else ""),
                            origin=srule.origin, matched=sid)
    return None


def _categories(a: Ask) -> Verdict | None:
    for h in a.hits:
        rule = a.group.categories.get(h.category)
        if rule is None or rule.action == "allow":
            continue
        if rule.action == "block":
            reason = Reason.CATEGORY
        else:
            assert rule.schedule is not None
            if (rule.action == "block_during") != rule.schedule.active(a.now):
                continue
            reason = Reason.SCHEDULE
        return _verdict(a.group, Action.BLOCK, reason, category=h.category, categories=a.cats,
                        rule=f"{rule.describe(h.category)} (list {h.source}:{h.line})",
                        origin=rule.origin, matched=h.matched)
    return None


def _uncategorised(a: Ask) -> Verdict | None:
    if not a.hits and a.group.uncategorised.action is Action.BLOCK:
        return _verdict(a.group, Action.BLOCK, Reason.UNCATEGORISED,
                        rule="uncategorised: block", origin=a.group.uncategorised.origin)
    return None


# ----------------------------------------------------------------------------- allowed checks (`inside` only)

def _chosen_by_adults(verdict: Verdict) -> bool:
    return verdict.reason in (Reason.ALLOWLIST, Reason.OVERRIDE)


def _reads_searches(a: Ask, verdict: Verdict) -> str | None:
    rules = a.group.content
    reads = (rules.safe_search or rules.youtube != "off" or rules.unsupported_search == "block"
             or rules.search_threshold is not None)
    return SAFE_SEARCH if reads and a.engines is not None and a.engines.match(a.req.host) is not None else None


def _scans_posts(a: Ask, verdict: Verdict) -> str | None:
    if _chosen_by_adults(verdict) or a.group.content.personal_info != "warn":
        return None
    return SCANNING if not verdict.categories else None


def _scans_pages(a: Ask, verdict: Verdict) -> str | None:
    rules = a.group.content
    if _chosen_by_adults(verdict) or not a.scanning or rules.phrase_threshold is None or rules.scan_pages == "off":
        return None
    return SCANNING if rules.scan_pages == "all" or not verdict.categories else None


CHECKS: tuple[Check, ...] = (
    # connection: the connection itself, for students and guests (core.layers)
    Check("port", Needs.NAME, "ports other than 80/443 and the group's open_ports: reason tunnel",
          phase="connection", by="addons/connections.py"),
    Check("names", Needs.NAME, "every name the connection carries (CONNECT target, server name, Host): "
          "the strictest decision wins, a blocked second name is reason mismatch",
          phase="connection", by="addons/enforce.py"),
    Check("local", Needs.NAME, "names and addresses of the gateway itself, loopback or link-local: reason local",
          phase="connection", by="addons/connections.py"),
    Check("tunnel", Needs.CONTENT, "tunnels whose bytes are neither HTTP nor TLS: reason tunnel",
          phase="connection", by="addons/connections.py"),
    # policy: first match wins
    Check("locked", Needs.NAME, "locked lists (illegal content): nothing unblocks them",
          _locked, _paths_listed),
    Check("file_type", Needs.PATH, "blocked file types, by the URL's extension", _file_type),
    Check("overrides", Needs.NAME, "teachers' overrides: an unblocked site; focus mode's only sites", _overrides),
    Check("unsupported_search", Needs.PATH, "searches on an engine with no safe search, where the group blocks them",
          _unsupported_search, _unsupported_search_inside),
    Check("deny_urls", Needs.PATH, "the group's denied URL prefixes and patterns", _deny_urls, _deny_urls_inside),
    Check("domains", Needs.NAME, "explicit allow/deny rules: the most specific name wins", _domain_rules),
    Check("ip_literals", Needs.NAME, "bare IP addresses, where the group wants names", _ip_literals),
    Check("closed_during", Needs.NAME, "the group's closed hours", _closed_during),
    Check("services", Needs.NAME, "named services the group blocks, now or on schedule", _services),
    Check("categories", Needs.NAME, "listed categories the group blocks, now or on schedule (URL lists: the path)",
          _categories, _paths_listed),
    Check("uncategorised", Needs.NAME, "sites on no list, for groups that block them", _uncategorised),
    # allowed: applied by addons to what the policy allowed
    Check("home", Needs.NAME, "a parent's limits for the child (home profile): pause, bedtime, budgets",
          phase="allowed", by="addons/home.py"),
    Check("safe_search", Needs.PATH, "safe search forced, YouTube restricted, search terms scanned",
          inside=_reads_searches, phase="allowed", by="addons/safesearch.py"),
    Check("personal_info", Needs.CONTENT, "a warning before personal information is posted to an unknown site",
          inside=_scans_posts, phase="allowed", by="addons/personal_info.py"),
    Check("file_type_response", Needs.CONTENT, "blocked file types, by the response's type or file name",
          phase="allowed", by="addons/downloads.py"),
    Check("image_hashes", Needs.CONTENT, "images matched with the authorities' hash lists (every group)",
          phase="allowed", by="addons/imagematch.py"),
    Check("phrases", Needs.CONTENT, "page text scored with the phrase lists", inside=_scans_pages,
          phase="allowed", by="addons/phrases.py"),
)
POLICY = tuple(c for c in CHECKS if c.phase == "policy")


def decide_ask(a: Ask) -> Verdict:
    """The policy phase of CHECKS on one request."""
    for check in POLICY:
        assert check.step is not None
        verdict = check.step(a)
        if verdict is not None:
            return verdict
    cats = a.cats
    return _verdict(a.group, Action.ALLOW, Reason.DEFAULT, categories=cats, category=cats[0] if cats else None,
                    rule="no rule blocks this site" if not cats else "its categories are allowed")


def decide(req: RequestView, group: Group, lists: Lists, now: datetime, overrides: Overrides = NONE,
           engines: Engines | None = None, services: Services | None = None) -> Verdict:
    return decide_ask(make_ask(req, group, lists, now, overrides, engines, services))


def blocked_now(group: Group, now: datetime) -> frozenset[str]:
    """The categories this group blocks at this moment (for phrase scanning)."""
    out = set()
    for cat, rule in group.categories.items():
        if rule.action == "block":
            out.add(cat)
        elif rule.schedule is not None and (rule.action == "block_during") == rule.schedule.active(now):
            out.add(cat)
    return frozenset(out)


def content_verdict(group: Group, reason: Reason, category: str, scored: tuple[str, ...], what: str,
                    threshold: int, origin: Origin) -> Verdict:
    """A block found by scanning a page or a search (phrases), for the block page and logs."""
    return _verdict(group, Action.BLOCK, reason, category=category, categories=scored,
                    rule=f"{what}: score over {threshold} for {', '.join(scored)}", origin=origin)
