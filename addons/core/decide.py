"""decide(request, group, lists, now) → Verdict.

Precedence (first match wins; docs/policies.md explains it to people):
1. locked lists (illegal content): nothing can unblock them
2. denied URL patterns of the group
3. explicit allow/deny domain rules: the most specific domain wins, and for the
   same domain a grade's own rule beats its level's
4. IP-literal hosts, when the group wants names only
5. the group's closed hours (`closed_during`)
6. categories: any listed category that the group blocks, now or on schedule
7. sites on no list, for groups that block uncategorised sites
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from .domains import candidates, ip_literal
from .lists import Hit
from .model import Action, Origin, Reason, RequestView, Verdict
from .policy import Group


class Lists(Protocol):
    def lookup(self, host: str, path: str | None = None) -> list[Hit]: ...


def _verdict(group: Group, action: Action, reason: Reason, **kw: object) -> Verdict:
    return Verdict(action, reason, group.id, group.grade, group.level, **kw)  # type: ignore[arg-type]


def decide(req: RequestView, group: Group, lists: Lists, now: datetime) -> Verdict:
    host = req.host
    hits = lists.lookup(host, req.path)
    cats = tuple(dict.fromkeys(h.category for h in hits))

    for h in hits:
        if h.locked:
            return _verdict(group, Action.BLOCK, Reason.ILLEGAL, category=h.category, categories=cats,
                            rule=f"locked list {h.source}", origin=Origin(h.source, h.line),
                            matched=h.matched)

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
