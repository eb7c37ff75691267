"""The department's baseline: schools may be stricter, never looser; every
looser rule is reported with its file and line."""

from __future__ import annotations

from datetime import datetime

from addons.core.baseline import apply_baseline, parse_baseline
from addons.core.decide import decide
from addons.core.errors import Collector
from addons.core.lists import Hit
from addons.core.model import Action, Reason, RequestView
from addons.core.yamlsrc import parse
from tests.core.policy_helpers import categories, compile_ok

BASELINE = """\
version: "2026-12"
locked: [csam]
levels:
  primary:
    block: [adult, gambling, games]
    safe_search: true
    youtube: strict
  lower-secondary:
    block: [adult, gambling]
    youtube: moderate
"""

REST = """\
  upper-secondary: {}
  staff: {}
  guest: {}
  default: {inherits: primary}
schedules:
  school-day: {days: mon-fri, from: "07:00", to: "17:00"}
"""
LOCAL = """\
groups:
  primary: {categories: {adult: block, games: allow}, youtube: moderate}
  lower-secondary: {categories: {adult: block, gambling: {block_during: school-day}}, youtube: "off"}
""" + REST


def baseline(text: str = BASELINE):  # type: ignore[no-untyped-def]
    c = Collector()
    data, errs = parse(text, "sources/dept/baseline.yaml")
    assert not errs
    return parse_baseline(data, "sources/dept/baseline.yaml", categories(), c), c


class Lists:
    def __init__(self, category: str):
        self.category = category

    def lookup(self, host: str, path: str | None = None) -> list[Hit]:
        return [Hit(self.category, "lists/x", 1, host, False)]


def test_parse() -> None:
    b, c = baseline()
    assert not c.items and b is not None
    assert b.version == "2026-12" and b.locked == ("csam",)
    assert b.levels["primary"].block == ("adult", "gambling", "games") and b.levels["primary"].safe_search
    assert b.levels["lower-secondary"].youtube == "moderate"


def test_parse_errors_name_the_line() -> None:
    text = ("version: 3\nlocked: [adult]\nlevels:\n  primary: {block: [adlut, games], youtube: loud}\n"
            "  college: {block: [adult]}\nextra: 1\n")
    b, c = baseline(text)
    msgs = [str(e) for e in c.errors]
    assert b is None
    assert any(m.startswith("sources/dept/baseline.yaml:2: the baseline requires category 'adult' to be locked")
               for m in msgs), msgs
    assert any(m.startswith("sources/dept/baseline.yaml:4: unknown category 'adlut'") for m in msgs), msgs
    assert any(":4: youtube must be one of" in m for m in msgs), msgs
    assert any(m.startswith("sources/dept/baseline.yaml:5: unknown school level 'college'") for m in msgs), msgs
    assert any(":6: unknown key 'extra'" in m for m in msgs), msgs


def test_looser_rules_are_tightened_and_reported_once_per_rule() -> None:
    b, _ = baseline()
    policy = compile_ok(LOCAL, base=False)
    tightened, conflicts = apply_baseline(policy, b)
    texts = [str(c) for c in conflicts]
    # games: allow in p0.yaml line 2, inherited by default and grades 1-5: one conflict naming them all
    games = [c for c in conflicts if "categories.games: allow" in c.what]
    assert len(games) == 1 and games[0].origin is not None and str(games[0].origin) == "p0.yaml:2"
    assert "primary" in games[0].group and "default" in games[0].group
    assert any("no rule for gambling is looser" in t and "primary" in t for t in texts)
    assert any("block_during school-day is looser" in t for t in texts)
    assert any("youtube moderate is looser" in t and "(strict)" in t for t in texts)
    assert any("youtube off is looser" in t and "(moderate)" in t for t in texts)
    now = datetime.fromisoformat("2026-11-28T20:00:00+07:00")  # Saturday evening: block_during would not block
    for gid, cat in (("primary", "games"), ("grade-3", "games"), ("default", "gambling"),
                     ("lower-secondary", "gambling")):
        v = decide(RequestView("x.test"), tightened.groups[gid], Lists(cat), now)
        assert (v.action, v.reason, v.category) == (Action.BLOCK, Reason.CATEGORY, cat), gid
        assert "department baseline 2026-12" in str(v.origin)
    assert tightened.groups["primary"].content.youtube == "strict"
    assert tightened.groups["lower-secondary"].content.youtube == "moderate"
    # staff and upper-secondary (not in the baseline) are untouched
    assert tightened.groups["staff"] is policy.groups["staff"]
    assert tightened.groups["upper-secondary"] is policy.groups["upper-secondary"]


def test_a_policy_as_strict_as_the_baseline_has_no_conflicts() -> None:
    b, _ = baseline()
    strict = compile_ok("groups:\n  primary: {categories: {adult: block, gambling: block, games: block}, "
                        "safe_search: true, youtube: strict}\n"
                        "  lower-secondary: {categories: {adult: block, gambling: block}, "
                        "youtube: strict}\n" + REST, base=False)
    tightened, conflicts = apply_baseline(strict, b)
    assert conflicts == []
    assert tightened.groups["primary"].categories == strict.groups["primary"].categories
