"""`schoolgate selftest`: ask the running proxy, as a client of each group would,
whether a canary of every category the group blocks is blocked and whether
allowed sites pass. Probes carry the selftest token and never go upstream."""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from datetime import datetime

from ..core import lists as corelists
from ..core.domains import ip_literal
from ..core.errors import Collector
from ..core.model import SELFTEST_HEADER, Action, RequestView
from ..core.settings import Settings
from ..core.snapshot import Snapshot
from .loader import discover_lists, read_text

ALLOWED_CANARY = "schoolgate-selftest.example"  # on no list (.example is reserved)


@dataclass(frozen=True)
class Check:
    group: str
    what: str  # "category:<id>" or "uncategorised" or "allow:<domain>"
    host: str
    expected: Action
    got: Action | None
    reason: str  # the proxy's X-Schoolgate-Reason, or an error

    @property
    def ok(self) -> bool:
        return self.got is self.expected


def canaries(settings: Settings, snapshot: Snapshot) -> dict[str, str]:
    """One listed domain per category (the first readable entry of its lists)."""
    out: dict[str, str] = {}
    errors = Collector()
    for lf in discover_lists(settings, snapshot.categories, errors):
        if lf.category in out or lf.fmt is corelists.ListFormat.URLS:
            continue
        text = read_text(lf.path, 1 << 30, errors, lf.shown)
        if text is None:
            continue
        for _, domain in corelists.parse_list(text, lf.fmt).domains:
            if ip_literal(domain) is None:
                out[lf.category] = domain
                break
    return out


def plan(snapshot: Snapshot, group_id: str, canary: dict[str, str], at: datetime) -> list[tuple[str, str, Action]]:
    """(what, host or URL path, expected action) for one group, expected from the local policy.

    A `safesearch:<engine>` check probes a search and expects the engine's switch in
    the query the proxy would send; `youtube:<mode>` expects the restrict header.
    """
    group = snapshot.group(group_id)
    checks: list[tuple[str, str, Action]] = []
    for engine in snapshot.engines.engines:
        if not engine.hosts or not engine.paths:
            continue
        host = f"www.{engine.hosts[0]}" if engine.hosts[0].count(".") == 1 else engine.hosts[0]
        target = f"{host}{engine.paths[0]}?{engine.query or 'q'}=schoolgate+selftest"
        expected = snapshot.decide(RequestView(host, engine.paths[0]), group, at).action
        if engine.safe_params and group.content.safe_search:
            checks.append((f"safesearch:{engine.id}", target, expected))
        if engine.youtube_header and group.content.youtube != "off":
            checks.append((f"youtube:{group.content.youtube}", target, expected))
    for cat in snapshot.categories.by_id:
        host = canary.get(cat)
        if host is None:
            continue
        expected = snapshot.decide(RequestView(host), group, at).action
        rule = group.categories.get(cat)
        if cat in snapshot.categories.locked or (rule is not None and rule.action != "allow"):
            checks.append((f"category:{cat}", host, expected))
    checks.append(("uncategorised", ALLOWED_CANARY, snapshot.decide(RequestView(ALLOWED_CANARY), group, at).action))
    for domain, rule in sorted(group.domains.items())[:3]:
        if rule.action is Action.ALLOW:
            checks.append((f"allow:{domain}", domain, snapshot.decide(RequestView(domain), group, at).action))
    return checks


def probe(proxy_host: str, proxy_port: int, token: str, group_id: str, host: str,
          timeout: float = 10.0, expect: str = "") -> tuple[Action | None, str]:
    """Ask the proxy; `expect` is something the allowed probe must carry (query text or header)."""
    conn = http.client.HTTPConnection(proxy_host, proxy_port, timeout=timeout)
    url = f"http://{host}" if "/" in host else f"http://{host}/"
    try:
        conn.request("GET", url, headers={SELFTEST_HEADER: f"{token} {group_id}", "Accept": "text/plain"})
        resp = conn.getresponse()
        resp.read()
        reason = resp.getheader("X-Schoolgate-Reason") or ""
        if resp.status == 403 and reason:
            return Action.BLOCK, reason
        if resp.status == 200 and reason:
            carried = f"{resp.getheader('X-Schoolgate-Query') or ''} {resp.getheader('X-Schoolgate-YouTube') or ''}"
            if expect and expect not in carried:
                return None, f"not enforced: the request would leave without {expect}"
            return Action.ALLOW, reason
        return None, f"unexpected answer {resp.status} (is this schoolgate, with the same data_dir?)"
    except OSError as e:
        return None, f"cannot reach the proxy: {e}"
    finally:
        conn.close()


def run_checks(snapshot: Snapshot, settings: Settings, groups: list[str], token: str, proxy_host: str,
               proxy_port: int, at: datetime) -> list[Check]:
    canary = canaries(settings, snapshot)
    out: list[Check] = []
    engines = {e.id: e for e in snapshot.engines.engines}
    for gid in groups:
        for what, host, expected in plan(snapshot, gid, canary, at):
            expect = ""
            if what.startswith("safesearch:") and expected is Action.ALLOW:
                expect = "&".join(f"{k}={v}" for k, v in engines[what.split(":", 1)[1]].safe_params.items())
            elif what.startswith("youtube:") and expected is Action.ALLOW:
                expect = what.split(":", 1)[1].capitalize()
            got, reason = probe(proxy_host, proxy_port, token, gid, host, expect=expect)
            out.append(Check(gid, what, host, expected, got, reason))
    return out
