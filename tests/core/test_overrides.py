from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from addons.core.decide import decide
from addons.core.lists import DomainIndex, SourceMeta, build_index
from addons.core.model import Action, Reason, RequestView
from addons.core.overrides import Override, Overrides
from tests.core.policy_helpers import categories, compile_ok

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
T = int(NOW.timestamp())


@pytest.fixture(scope="module")
def env():  # type: ignore[no-untyped-def]
    cats = categories()
    ids = list(cats.by_id)
    index = DomainIndex(build_index(ids, cats.locked, [SourceMeta("l", "games", "domains")],
                                    [("games.test", ids.index("games"), 0, 1), ("locked.test", ids.index("csam"), 0, 2)]))
    policy = compile_ok("groups:\n  grade-7: {categories: {games: block}}\n  class-7a: {inherits: grade-7}\n")
    return policy, index


@pytest.mark.parametrize(
    "items, group, host, action, reason",
    [
        ([Override(1, "unblock", "grade-7", ("games.test",), T - 60, T + 600)], "grade-7", "www.games.test",
         Action.ALLOW, Reason.OVERRIDE),
        ([Override(1, "unblock", "grade-7", ("games.test",), T - 60, T + 600)], "class-7a", "games.test",
         Action.ALLOW, Reason.OVERRIDE),  # a class inherits its grade's overrides
        ([Override(1, "unblock", "grade-7", ("games.test",), T - 600, T - 60)], "grade-7", "games.test",
         Action.BLOCK, Reason.CATEGORY),  # expired
        ([Override(1, "unblock", "grade-8", ("games.test",), T - 60, T + 600)], "grade-7", "games.test",
         Action.BLOCK, Reason.CATEGORY),  # another grade
        ([Override(1, "unblock", "grade-7", ("locked.test",), T - 60, T + 600)], "grade-7", "locked.test",
         Action.BLOCK, Reason.ILLEGAL),  # never a locked list
        ([Override(2, "focus", "grade-7", ("wiki.test",), T - 60, T + 600)], "grade-7", "news.test",
         Action.BLOCK, Reason.FOCUS),
        ([Override(2, "focus", "grade-7", ("wiki.test",), T - 60, T + 600)], "grade-7", "vi.wiki.test",
         Action.ALLOW, Reason.OVERRIDE),
        ([Override(2, "focus", "grade-7", ("locked.test",), T - 60, T + 600)], "grade-7", "locked.test",
         Action.BLOCK, Reason.ILLEGAL),
    ],
)
def test_overrides(env, items, group, host, action, reason) -> None:  # type: ignore[no-untyped-def]
    policy, index = env
    v = decide(RequestView(host), policy.groups[group], index, NOW, Overrides(items))
    assert (v.action, v.reason) == (action, reason)


def test_focus_rule_text(env) -> None:  # type: ignore[no-untyped-def]
    policy, index = env
    v = decide(RequestView("x.test"), policy.groups["grade-7"], index, NOW,
               Overrides([Override(3, "focus", "grade-7", ("a.test", "b.test"), T - 1, T + 2700, "cô Lan")]))
    assert v.rule == "focus #3 until 09:45: only a.test, b.test" and str(v.origin) == "override #3 by cô Lan"
