import pytest

from addons.core.model import Action, Kind
from tests.core.policy_helpers import compile_ok, errors_of


def test_grades_inherit_their_level_and_may_override() -> None:
    p = compile_ok("groups:\n  grade-7:\n    categories: {games: block}\n    allow: [wiki.test]\n")
    g7, g6 = p.groups["grade-7"], p.groups["grade-6"]
    assert g7.chain == ("grade-7", "lower-secondary") and g7.level == "lower-secondary" and g7.grade == 7
    assert set(g7.categories) == {"adult", "games"} and set(g6.categories) == {"adult"}
    assert "wiki.test" in g7.domains and "wiki.test" not in g6.domains
    assert p.groups["grade-3"].level == "primary" and p.groups["grade-12"].grade == 12
    assert g7.name("vi") == "Lớp 7" and g7.name("en") == "Grade 7"


def test_child_rules_shadow_parent_rules() -> None:
    p = compile_ok(
        "groups:\n"
        "  base-x: {kind: student, deny: [video.test], categories: {games: block}, uncategorised: block}\n"
        "  child-x: {inherits: base-x, allow: [video.test], categories: {games: allow}, uncategorised: allow}\n"
    )
    child = p.groups["child-x"]
    assert child.domains["video.test"].action is Action.ALLOW
    assert child.categories["games"].action == "allow"
    assert child.uncategorised.action is Action.ALLOW
    assert p.groups["base-x"].domains["video.test"].action is Action.BLOCK


def test_kinds_and_defaults() -> None:
    p = compile_ok()
    assert p.groups["staff"].kind is Kind.STAFF and p.groups["guest"].kind is Kind.GUEST
    assert p.groups["default"].kind is Kind.STUDENT
    assert p.groups["primary"].ip_literals.action is Action.BLOCK
    assert p.groups["staff"].ip_literals.action is Action.ALLOW
    assert p.groups["primary"].uncategorised.action is Action.ALLOW


def test_url_rules_and_schedules_compile() -> None:
    p = compile_ok(
        "groups:\n  grade-2:\n    deny_urls: [YouTube.com/Shorts/, {regex: 'tiktok\\.com/live'}, {prefix: 'x.test/a'}]\n"
        "    categories: {games: {block_during: school-day}}\n    closed_during: school-day\n"
    )
    g = p.groups["grade-2"]
    assert [u.text for u in g.urls] == ["prefix youtube.com/shorts/", "regex tiktok\\.com/live", "prefix x.test/a"]
    assert g.categories["games"].schedule is not None and g.closed_during is not None


def test_clients_compile() -> None:
    p = compile_ok("clients:\n  - {network: 10.0.7.0/24, group: grade-7, name: '7A'}\n"
                   "  - networks: [10.0.8.0/24, '::ffff:10.0.9.0/120']\n    group: staff\n")
    assert [(c.network, c.group, c.name) for c in p.clients] == [
        ("10.0.7.0/24", "grade-7", "7A"), ("10.0.8.0/24", "staff", None), ("10.0.9.0/24", "staff", None)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("groups:\n  grade-7: {categoris: {}}", "p1.yaml:2: unknown key 'categoris' in group 'grade-7'. Fix: did you mean 'categories'?"),
        ("groups:\n  grade-7: {categories: {gamblin: block}}", "p1.yaml:2: unknown category 'gamblin'. Fix: did you mean 'gambling'?"),
        ("groups:\n  grade-7: {categories: {social: block}}", "'social' is an alias of category 'social_networks'"),
        ("groups:\n  grade-7: {categories: {csam: allow}}", "category 'csam' is locked (illegal content) and cannot be allowed"),
        ("groups:\n  grade-7: {categories: {csam: {allow_during: school-day}}}", "cannot be scheduled"),
        ("groups:\n  grade-7: {categories: {games: {block_during: lessons}}}", "unknown schedule 'lessons' for category 'games'"),
        ("groups:\n  grade-7: {categories: {games: maybe}}", "must be block or allow, not 'maybe'"),
        ("groups:\n  grade-7: {categories: {games: {block_when: school-day}}}", "unknown scheduled action 'block_when'"),
        ("groups:\n  grade-7: {allow: [a.test], deny: [a.test]}", "'a.test' is both allowed and denied in group 'grade-7'"),
        ("groups:\n  grade-7: {allow: ['bad host']}", "'bad host' in allow is not a domain"),
        ("groups:\n  grade-7: {allow: [a.test/path]}", "has a path"),
        ("groups:\n  grade-7: {allow: a.test}", "'allow' must be a list of domains"),
        ("groups:\n  grade-7: {deny_urls: [example.com]}", "URL rule 'example.com' has no path"),
        ("groups:\n  grade-7: {deny_urls: [{regex: '(unclosed'}]}", "regular expression '(unclosed' is invalid"),
        ("groups:\n  grade-7: {uncategorised: maybe}", "'uncategorised' must be allow or block, not 'maybe'"),
        ("groups:\n  grade-7: {closed_during: nights}", "unknown schedule 'nights'"),
        ("groups:\n  grade-7: {inherits: primary}", "group 'grade-7' always inherits 'lower-secondary', not 'primary'"),
        ("groups:\n  x: {inherits: nobody}", "group 'x' inherits unknown group 'nobody'"),
        ("groups:\n  x: {inherits: y}\n  y: {inherits: x}", "inheritance loop"),
        ("groups:\n  primary: {}", "p1.yaml:2: group 'primary' is already defined at p0.yaml:4"),
        ("groups:\n  Bad_Id: {}", "group id 'Bad_Id' is not valid"),
        ("schedules:\n  school-day: {days: mon, from: '08:00', to: '09:00'}", "schedule 'school-day' is already defined"),
        ("schedules:\n  s: {days: mon, from: '25:00', to: '26:00'}", "p1.yaml:2: impossible time window in schedule 's'"),
        ("schedules:\n  s: {days: mon, from: '08:00'}", "lacks to"),
        ("schedules:\n  s: {days: mon, from: '08:00', to: '09:00', tz: x}", "unknown key 'tz' in schedule 's'"),
        ("clients:\n  - {network: 10.0.0.0/33, group: staff}", "'10.0.0.0/33' is not an IP address or CIDR range"),
        ("clients:\n  - {network: 10.0.0.0/24, group: staf}", "unknown group 'staf'. Fix: did you mean 'staff'?"),
        ("clients:\n  - {network: 10.0.0.0/24, group: staff}\n  - {network: 10.0.0.7/24, group: guest}",
         "p1.yaml:3: 10.0.0.0/24 conflicts with the entry at p1.yaml:2 (group 'staff')"),
        ("clients:\n  - {network: 10.0.0.1, group: staff}\n  - {network: 10.0.0.1/32, group: staff}", "duplicates the entry"),
        ("clients:\n  - {group: staff}", "client entry has no network"),
        ("clients: {a: b}", "'clients' must be a list"),
        ("grups: {}", "unknown key 'grups' in a policy file. Fix: did you mean 'groups'?"),
        ("- just a list", "a policy file must be a mapping"),
    ],
)
def test_errors(text: str, expected: str) -> None:
    errors = errors_of(text)
    assert any(expected in e for e in errors), errors
    assert all("Fix: " in e for e in errors)


def test_default_group_is_required_and_never_staff() -> None:
    assert any("no 'default' group" in e for e in errors_of("groups:\n  primary: {}\n", base=False))
    errs = errors_of("groups:\n  primary: {}\n  default: {kind: staff}\n", base=False)
    assert any("the 'default' group must not be a staff policy" in e for e in errs)


def test_builtin_kinds_are_fixed() -> None:
    errs = errors_of("groups:\n  staff: {kind: student}\n  default: {}\n", base=False)
    assert any("group 'staff' is always kind 'staff'" in e for e in errs)


def test_all_errors_are_reported_at_once() -> None:
    errs = errors_of("groups:\n  grade-7: {categories: {gamblin: block}, alow: []}\n  grade-8: {deny: ['x y']}\n")
    assert len(errs) == 3


def test_migrated_key_is_read_with_a_warning() -> None:
    from tests.core.policy_helpers import compile_texts

    policy, c = compile_texts("groups:\n  grade-7: {whitelist: [wiki.test]}\n")
    assert not c.errors and "wiki.test" in policy.groups["grade-7"].domains
    assert "rename it to 'allow'" in str(c.warnings[0])


def test_a_typo_never_silently_drops_a_block() -> None:
    # An unresolved schedule is an error, not an inactive rule (fail safe on ambiguity).
    assert errors_of("groups:\n  grade-7: {categories: {games: {block_during: school_day}}}")


def test_builtin_group_keeps_its_kind_when_inheriting() -> None:
    from tests.core.policy_helpers import BASE

    p = compile_ok(BASE.replace("staff: {}", "staff: {inherits: upper-secondary}"), base=False)
    assert p.groups["staff"].kind is Kind.STAFF


def test_rules_for_public_suffixes_cover_that_host_only() -> None:
    from datetime import datetime

    from addons.core.decide import decide
    from addons.core.lists import DomainIndex, SourceMeta, build_index
    from addons.core.model import Reason, RequestView

    p = compile_ok("groups:\n  grade-7: {deny: [github.io, someone.github.io], deny_urls: [blogspot.com/x/]}\n")
    g = p.groups["grade-7"]
    assert g.domains["github.io"].exact and not g.domains["someone.github.io"].exact
    empty = DomainIndex(build_index(["adult"], [], [SourceMeta("x", "adult", "domains")], []))
    at = datetime(2026, 11, 23, 20, 0)
    assert decide(RequestView("github.io"), g, empty, at).reason is Reason.DENIED
    assert decide(RequestView("other.github.io"), g, empty, at).reason is Reason.DEFAULT
    assert decide(RequestView("a.someone.github.io"), g, empty, at).reason is Reason.DENIED
    assert decide(RequestView("me.blogspot.com", "/x/1"), g, empty, at).reason is Reason.DEFAULT


def test_overlays_from_generated_files() -> None:
    p = compile_ok(
        "groups:\n  grade-7: {deny: [blocked-by-admin.test]}\n  class-7a: {inherits: grade-7}\n",
        "overlays:\n  grade-7:\n    allow: [wiki.test]\n    deny: [games9.test]\n    closed_during: school-day\n")
    g7, c7a = p.groups["grade-7"], p.groups["class-7a"]
    assert g7.domains["wiki.test"].action is Action.ALLOW and g7.domains["wiki.test"].origin.source == "p2.yaml"
    assert "wiki.test" in c7a.domains  # classes inherit their grade's overlay
    assert g7.closed_during is not None and "wiki.test" not in p.groups["grade-8"].domains


@pytest.mark.parametrize(
    "text, message",
    [
        ("overlays:\n  grade-7: {allow: [blocked-by-admin.test]}", "is denied for 'grade-7' by the school's policy"),
        ("overlays:\n  grade-99: {allow: [a.test]}", "overlay for unknown group 'grade-99'"),
        ("overlays:\n  grade-7: {categories: {games: allow}}", "unknown key 'categories' in the overlay"),
        ("overlays:\n  grade-7: {closed_during: nights}", "unknown schedule 'nights'"),
    ],
)
def test_overlay_errors(text: str, message: str) -> None:
    errors = errors_of("groups:\n  grade-7: {deny: [blocked-by-admin.test]}\n", text)
    assert any(message in e for e in errors), errors
