"""Decision table: every rule kind and every precedence case of core.decide."""

from datetime import datetime

import pytest

from addons.core.decide import decide
from addons.core.lists import DomainIndex, SourceMeta, build_index
from addons.core.model import Action, Reason, RequestView
from tests.core.policy_helpers import categories, compile_ok

POLICY = """\
schedules:
  school-day: {days: mon-fri, from: "07:00", to: "17:00"}
  evening: {days: daily, from: "21:00", to: "06:00"}
groups:
  primary:
    categories: {adult: block, gambling: block, games: block, social_networks: {block_during: school-day}}
    allow: [allowed-bet.test, locked.test, www.games.test, video.test]
    deny: [deny.test]
    deny_urls: [video.test/shorts/, {regex: 'q=forbidden'}]
  grade-3:
    allow: [deny.test]
    deny: [sub.allowed-bet.test]
  lower-secondary:
    categories: {adult: block, games: {allow_during: evening}}
  upper-secondary:
    categories: {adult: block}
    uncategorised: block
    allow: [ok.test]
  staff: {}
  guest:
    closed_during: evening
    allow: [homework.test]
  default: {inherits: primary}
"""

ENTRIES = {
    "adult": ["adult.test"],
    "gambling": ["bet.test", "allowed-bet.test", "multi.test"],
    "games": ["games.test", "multi.test"],
    "social_networks": ["social.test"],
    "csam": ["locked.test"],
}
URLS = [("mixed.test", "/bad/", "csam"), ("news.test", "/adult/", "adult")]


@pytest.fixture(scope="module")
def env():  # type: ignore[no-untyped-def]
    cats = categories()
    ids = list(cats.by_id)
    domains = [(d, ids.index(c), 0, n) for c, ds in ENTRIES.items() for n, d in enumerate(ds, 1)]
    urls = [(h, p, ids.index(c), 0, 99) for h, p, c in URLS]
    index = DomainIndex(build_index(ids, cats.locked, [SourceMeta("lists/test", "adult", "domains")],
                                    domains, urls))
    return compile_ok(POLICY, base=False), index


MON_09 = "2026-11-23T09:00"
MON_18 = "2026-11-23T18:00"
MON_22 = "2026-11-23T22:00"
B, A = Action.BLOCK, Action.ALLOW


@pytest.mark.parametrize(
    "case, group, url, at, action, reason, category",
    [
        ("locked beats an allow rule", "primary", "locked.test/", MON_18, B, Reason.ILLEGAL, "csam"),
        ("locked URL applies to staff", "staff", "www.mixed.test/bad/x", MON_18, B, Reason.ILLEGAL, "csam"),
        ("locked list applies to guests", "guest", "locked.test/", MON_18, B, Reason.ILLEGAL, "csam"),
        ("URL rule beats an allowed domain", "primary", "video.test/shorts/abc", MON_18, B, Reason.URL, None),
        ("rest of the allowed domain opens", "primary", "video.test/watch", MON_18, A, Reason.ALLOWLIST, None),
        ("regex URL rule", "primary", "search.test/?q=forbidden", MON_18, B, Reason.URL, None),
        ("allow rule beats a category", "primary", "allowed-bet.test/", MON_18, A, Reason.ALLOWLIST, None),
        ("a more specific deny beats an allow", "grade-3", "x.sub.allowed-bet.test/", MON_18, B, Reason.DENIED, None),
        ("grade rule beats level rule for the same domain", "grade-3", "deny.test/", MON_18, A, Reason.ALLOWLIST, None),
        ("level deny", "grade-4", "www.deny.test/", MON_18, B, Reason.DENIED, None),
        ("allowed subdomain of a blocked category", "primary", "www.games.test/", MON_18, A, Reason.ALLOWLIST, None),
        ("blocked category on the parent", "primary", "games.test/", MON_18, B, Reason.CATEGORY, "games"),
        ("IP literal blocked for students", "primary", "10.1.2.3/", MON_18, B, Reason.IP_LITERAL, None),
        ("IP literal open for staff", "staff", "10.1.2.3/", MON_18, A, Reason.DEFAULT, None),
        ("category", "grade-1", "bet.test/", MON_18, B, Reason.CATEGORY, "gambling"),
        ("URL list category", "grade-1", "news.test/adult/1", MON_18, B, Reason.CATEGORY, "adult"),
        ("block_during inside", "primary", "social.test/", MON_09, B, Reason.SCHEDULE, "social_networks"),
        ("block_during outside", "primary", "social.test/", MON_18, A, Reason.DEFAULT, "social_networks"),
        ("allow_during outside", "grade-7", "games.test/", MON_09, B, Reason.SCHEDULE, "games"),
        ("allow_during inside", "grade-7", "games.test/", MON_22, A, Reason.DEFAULT, "games"),
        ("closed hours", "guest", "anything.test/", MON_22, B, Reason.SCHEDULE, None),
        ("allow list open in closed hours", "guest", "homework.test/", MON_22, A, Reason.ALLOWLIST, None),
        ("outside closed hours", "guest", "anything.test/", MON_09, A, Reason.DEFAULT, None),
        ("uncategorised blocked", "upper-secondary", "unknown.test/", MON_09, B, Reason.UNCATEGORISED, None),
        ("uncategorised: allow list open", "upper-secondary", "ok.test/", MON_09, A, Reason.ALLOWLIST, None),
        ("uncategorised rule ignores listed sites", "upper-secondary", "games.test/", MON_09, A, Reason.DEFAULT, "games"),
        ("uncategorised open by default", "primary", "unknown.test/", MON_09, A, Reason.DEFAULT, None),
        ("several categories: first that blocks", "primary", "multi.test/", MON_18, B, Reason.CATEGORY, "gambling"),
        ("staff are not blocked by categories", "staff", "adult.test/", MON_18, A, Reason.DEFAULT, "adult"),
        ("default inherits primary", "default", "bet.test/", MON_18, B, Reason.CATEGORY, "gambling"),
    ],
)
def test_decide(env, case, group, url, at, action, reason, category) -> None:  # type: ignore[no-untyped-def]
    policy, index = env
    host, _, rest = url.partition("/")
    path, _, query = ("/" + rest).partition("?")
    v = decide(RequestView(host, path, query=query), policy.groups[group], index, datetime.fromisoformat(at))
    assert (v.action, v.reason, v.category) == (action, reason, category), case
    assert v.group == group
    if action is B:
        assert v.rule and (v.origin is not None or reason is Reason.ILLEGAL)


def test_verdict_explains_the_winning_rule(env) -> None:  # type: ignore[no-untyped-def]
    policy, index = env
    v = decide(RequestView("www.bet.test", "/"), policy.groups["grade-2"], index,
               datetime.fromisoformat(MON_18))
    assert v.rule == "categories.gambling: block (list lists/test:1)"
    assert str(v.origin) == "p0.yaml:6" and v.matched == "bet.test"
    assert v.grade == 2 and v.level == "primary" and v.categories == ("gambling",)
    locked = decide(RequestView("locked.test", "/"), policy.groups["staff"], index, datetime.fromisoformat(MON_18))
    assert locked.rule == "locked list lists/test, entry 1: nothing unblocks it, for any group"
    assert str(locked.origin) == "lists/test:1"
    assert locked.matched == "entry 1"  # never the listed domain or URL itself


def test_school_policy_blocks_a_named_service() -> None:
    from addons.core.errors import Collector
    from addons.core.policy import compile_policies
    from addons.core.services import parse_services
    from addons.core.yamlsrc import parse
    from tests.core.policy_helpers import BASE

    svc_yaml = ("groups: {video: Video, games: Games}\nservices:\n"
                "  tiktok: {name: TikTok, group: video, domains: [tiktok.test]}\n"
                "  roblox: {name: Roblox, group: games, domains: [roblox.test]}\n")
    errors = Collector()
    services = parse_services(parse(svc_yaml, "services.yaml")[0], "services.yaml", categories(), errors)
    policy_yaml = ("groups:\n  grade-7:\n    services: {tiktok: block, games: {block_during: school-day}}\n"
                   "  grade-8:\n    services: {tiktk: block}\n")
    files = [("p0.yaml", parse(BASE, "p0.yaml")[0]), ("p1.yaml", parse(policy_yaml, "p1.yaml")[0])]
    policy = compile_policies(files, categories(), errors, services)
    assert [str(e) for e in errors.errors] == [
        "p1.yaml:5: unknown service 'tiktk'. Fix: did you mean 'tiktok'?; services are defined in "
        "blocklists/services.yaml"]
    lists = DomainIndex(build_index(["adult"], frozenset(), [], [], ()))
    g7 = policy.groups["grade-7"]
    monday_9 = datetime(2026, 11, 23, 9, 0)
    v = decide(RequestView("www.tiktok.test"), g7, lists, monday_9, services=services)
    assert (v.action, v.reason, v.matched, v.rule) == (Action.BLOCK, Reason.SERVICE, "tiktok", "services.tiktok: block")
    assert decide(RequestView("roblox.test"), g7, lists, monday_9, services=services).reason is Reason.SERVICE
    assert decide(RequestView("roblox.test"), g7, lists, datetime(2026, 11, 23, 18, 0),
                  services=services).action is Action.ALLOW
    assert decide(RequestView("tiktok.test"), policy.groups["grade-6"], lists, monday_9,
                  services=services).action is Action.ALLOW
