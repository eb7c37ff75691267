"""Selective interception: which HTTPS connections the policy needs to read."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from addons.core.decide import decide_ask
from addons.core.inspection import BLOCKED, PATH_RULES, SAFE_SEARCH, SCANNING, inspection_reason
from addons.core.model import RequestView
from addons.core.settings import Settings
from addons.core.snapshot import Snapshot
from addons.infra.loader import load_snapshot
from tests.helpers.trees import WEEKEND_NOON, make_tree


@pytest.fixture(scope="module")
def snap(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    base: Path = tmp_path_factory.mktemp("inspection")
    policies, blocklists = make_tree(base)
    return load_snapshot(Settings(policies_dir=str(policies), blocklists_dir=str(blocklists),
                                  data_dir=str(base / "data"))).snapshot


def reason(snap: Snapshot, host: str, group: str = "grade-7", **content: object) -> str | None:
    g = snap.group(group)
    if content:
        g = replace(g, content=replace(g.content, **content))
    ask = snap.ask(RequestView(host, "/", "https", 443), g, WEEKEND_NOON)
    return inspection_reason(ask, decide_ask(ask))


@pytest.mark.parametrize("host, expected", [
    ("games.test", None),  # categorised and allowed for grade 7: nothing to read
    ("www.social.test", None),
    ("bet.test", BLOCKED),  # read, to show the block page
    ("www.google.com", SAFE_SEARCH),
    ("news.test", PATH_RULES),  # a list has news.test/violent/
    ("unknown-site.test", SCANNING),  # uncategorised: its pages are scanned
])
def test_reasons(snap: Snapshot, host: str, expected: str | None) -> None:
    assert reason(snap, host) == expected


def test_the_group_decides(snap: Snapshot) -> None:
    # No safe search, restricted mode or query scanning: a search engine is just another site.
    plain = {"safe_search": False, "youtube": "off", "search_threshold": None}
    assert reason(snap, "www.google.com", **plain) == SCANNING  # uncategorised, so its pages are scanned
    assert reason(snap, "www.google.com", **plain, scan_pages="off", personal_info="off") is None
    assert reason(snap, "www.google.com", safe_search=False, youtube="off") == SAFE_SEARCH  # queries scanned
    # Nothing scanned and no warnings: uncategorised sites pass through too.
    assert reason(snap, "unknown-site.test", scan_pages="off", personal_info="off") is None
    assert reason(snap, "unknown-site.test", phrase_threshold=None, personal_info="off") is None
    # Personal-information warnings alone need uncategorised sites read.
    assert reason(snap, "unknown-site.test", scan_pages="off", personal_info="warn") == SCANNING
    # Scanning every page reads every allowed site.
    assert reason(snap, "games.test", scan_pages="all") == SCANNING
    # Staff (no scanning, no safe search by default) pass almost everything through.
    assert reason(snap, "unknown-site.test", "staff") is None
    assert reason(snap, "www.google.com", "staff") is None


def test_group_url_rules(snap: Snapshot) -> None:
    import re

    from addons.core.model import Origin
    from addons.core.policy import UrlRule
    g = snap.group("grade-7")
    prefix = replace(g, urls=(UrlRule("prefix games.test/shorts/", Origin("p.yaml", 3), host="games.test",
                                      path="/shorts/"),))
    ask = snap.ask(RequestView("www.games.test", "/", "https", 443), prefix, WEEKEND_NOON)
    assert inspection_reason(ask, decide_ask(ask)) == PATH_RULES
    regex = replace(g, urls=(UrlRule("regex /shorts/", Origin("p.yaml", 4), regex=re.compile("/shorts/")),))
    ask = snap.ask(RequestView("games.test", "/", "https", 443), regex, WEEKEND_NOON)
    assert inspection_reason(ask, decide_ask(ask)) == PATH_RULES


def test_has_paths(snap: Snapshot) -> None:
    assert snap.lists.has_paths("news.test") and snap.lists.has_paths("www.news.test")
    assert not snap.lists.has_paths("games.test")
