"""decide(request, group, lists, now) → Verdict.

Precedence (first match wins; docs/policies.md explains it to people):
1. locked lists (illegal content): nothing can unblock them
   then blocked file types (by extension; the response's type is checked later)
1b. teachers' overrides: an unblocked site opens; focus mode allows only its sites
1c. search engines with no safe-search mechanism, for groups that block them
2. denied URL patterns of the group
3. explicit allow/deny domain rules: the most specific domain wins, and for the
   same domain a grade's own rule beats its level's
4. IP-literal hosts, when the group wants names only
5. the group's closed hours (`closed_during`)
5b. named services (blocklists/services.yaml) the group blocks, now or on schedule
6. categories: any listed category that the group blocks, now or on schedule
7. sites on no list, for groups that block uncategorised sites
"""

from __future__ import annotations

from datetime import datetime
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


def decide(req: RequestView, group: Group, lists: Lists, now: datetime, overrides: Overrides = NONE,
           engines: Engines | None = None, services: Services | None = None) -> Verdict:
    host = req.host
    hits = lists.lookup(host, req.path)
    cats = tuple(dict.fromkeys(h.category for h in hits))

    for h in hits:
        if h.locked:
            # The entry itself (a URL of abuse material) is never repeated: only its line.
            return _verdict(group, Action.BLOCK, Reason.ILLEGAL, category=h.category, categories=cats,
                            rule=f"locked list {h.source}, entry {h.line}: nothing unblocks it, for any group",
                            origin=Origin(h.source, h.line), matched=f"entry {h.line}")

    content = group.content
    if content.block_extensions:
        ext = file_extension(req.path)
        if ext in content.block_extensions:
            return _verdict(group, Action.BLOCK, Reason.FILETYPE, categories=cats,
                            rule=f"block_files: {ext}", origin=content.origin("block_files"), matched=ext)

    if overrides:
        active = overrides.active(group.chain, now.timestamp())
        for o in active:
            if o.kind == "unblock" and (name := o.covers(host)):
                return _verdict(group, Action.ALLOW, Reason.OVERRIDE, categories=cats,
                                rule=f"override #{o.id}: unblock {name} until {_hhmm(o.ends, now)}",
                                origin=Origin(f"override #{o.id} by {o.created_by or 'a teacher'}"), matched=name)
        focus = [o for o in active if o.kind == "focus"]
        if focus:
            for o in focus:
                if name := o.covers(host):
                    return _verdict(group, Action.ALLOW, Reason.OVERRIDE, categories=cats,
                                    rule=f"focus #{o.id}: {name} is on the lesson's list",
                                    origin=Origin(f"override #{o.id} by {o.created_by or 'a teacher'}"),
                                    matched=name)
            o = focus[0]
            return _verdict(group, Action.BLOCK, Reason.FOCUS, categories=cats,
                            rule=f"focus #{o.id} until {_hhmm(o.ends, now)}: only {', '.join(o.domains)}",
                            origin=Origin(f"override #{o.id} by {o.created_by or 'a teacher'}"))

    if engines is not None and content.unsupported_search == "block":
        engine = engines.match(host)
        if engine is not None and not engine.supported and engine.is_search(req.path) and content.safe_search:
            return _verdict(group, Action.BLOCK, Reason.SAFESEARCH, categories=cats,
                            rule=f"unsupported_search: block ({engine.name} has no safe search)",
                            origin=content.origin("unsupported_search"), matched=engine.id)

    if group.urls:
        target = host + req.path.lower()
        full = host + req.path + (f"?{req.query}" if req.query else "")
        cands = candidates(host)
        for u in group.urls:
            if u.regex is not None:
                if u.regex.search(full):
                    return _verdict(group, Action.BLOCK, Reason.URL, categories=cats,
                                    rule=f"deny_urls: {u.text}", origin=u.origin, matched=u.text)
            elif u.host in cands and (not u.exact or u.host == host) and target[len(host):].startswith(u.path):
                return _verdict(group, Action.BLOCK, Reason.URL, categories=cats,
                                rule=f"deny_urls: {u.text}", origin=u.origin, matched=f"{u.host}{u.path}")

    for name in candidates(host):
        rule = group.domains.get(name)
        if rule is not None and (not rule.exact or name == host):
            if rule.action is Action.ALLOW:
                return _verdict(group, Action.ALLOW, Reason.ALLOWLIST, categories=cats,
                                rule=f"allow: {name}", origin=rule.origin, matched=name)
            return _verdict(group, Action.BLOCK, Reason.DENIED, categories=cats,
                            rule=f"deny: {name}", origin=rule.origin, matched=name)

    if group.ip_literals.action is Action.BLOCK and ip_literal(host) is not None:
        return _verdict(group, Action.BLOCK, Reason.IP_LITERAL, categories=cats,
                        rule="ip_literals: block", origin=group.ip_literals.origin, matched=host)

    if group.closed_during is not None:
        schedule, origin = group.closed_during
        if schedule.active(now):
            return _verdict(group, Action.BLOCK, Reason.SCHEDULE, categories=cats,
                            rule=f"closed_during: {schedule.name}", origin=origin)

    if group.services and services is not None:
        for sid in services.match(host, cats):
            for key in (sid, services.by_id[sid].group):
                srule = group.services.get(key)
                if srule is None or srule.action == "allow":
                    continue
                if srule.schedule is not None and (srule.action == "block_during") != srule.schedule.active(now):
                    continue
                return _verdict(group, Action.BLOCK, Reason.SERVICE, categories=cats,
                                rule=f"services.{key}: {srule.action}"
                                     + (f" {srule.schedule.name}" if srule.schedule else ""),
                                origin=srule.origin, matched=sid)

    for h in hits:
        rule = group.categories.get(h.category)
        if rule is None or rule.action == "allow":
            continue
        if rule.action == "block":
            reason = Reason.CATEGORY
        else:
            assert rule.schedule is not None
            active = rule.schedule.active(now)
            if (rule.action == "block_during") != active:
                continue
            reason = Reason.SCHEDULE
        return _verdict(group, Action.BLOCK, reason, category=h.category, categories=cats,
                        rule=f"{rule.describe(h.category)} (list {h.source}:{h.line})",
                        origin=rule.origin, matched=h.matched)

    if not hits and group.uncategorised.action is Action.BLOCK:
        return _verdict(group, Action.BLOCK, Reason.UNCATEGORISED,
                        rule="uncategorised: block", origin=group.uncategorised.origin)

    return _verdict(group, Action.ALLOW, Reason.DEFAULT, categories=cats,
                    category=cats[0] if cats else None,
                    rule="no rule blocks this site" if not cats else "its categories are allowed")


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
