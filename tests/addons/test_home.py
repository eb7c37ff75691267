from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from addons.core.model import BLOCKED_KEY, VERDICT_KEY, Reason
from addons.core.settings import Settings
from addons.home import HomeRules
from addons.infra import home_store
from tests.addons.conftest import Chain

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
HOME = {"children": [{"id": "bong", "name": "Bống", "level": "lower-secondary", "devices": ["127.0.0.9"],
                      "rules": {"tiktok": "block", "games": {"limit": 1}}}]}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, profile="home")


class Writer:
    def __init__(self) -> None:
        self.usage: list[tuple[str, str, str, int]] = []
        self.blocks: list[tuple[str, str, str, str]] = []
        self.devices: dict[str, int] = {}

    def add_usage(self, *row) -> None:  # type: ignore[no-untyped-def]
        self.usage.append(row)

    def count_home_block(self, *row) -> None:  # type: ignore[no-untyped-def]
        self.blocks.append(row)

    def seen_device(self, address: str, ts: int) -> None:
        self.devices[address] = ts


def home_chain(chain: Chain) -> tuple[HomeRules, Writer]:
    home_store.save_config(chain.runtime.settings.db_path, HOME, "parent", 0)
    rules = HomeRules(chain.runtime)
    chain.runtime.clock = lambda: datetime(2026, 11, 23, 18, 0, tzinfo=TZ).timestamp()
    rules.start()
    writer = Writer()
    chain.runtime.writer = writer
    return rules, writer


def run(chain: Chain, rules: HomeRules, url: str, client: str = "127.0.0.9"):  # type: ignore[no-untyped-def]
    f = chain.flow(url, client=client)
    chain.clients.request(f)
    chain.enforce.request(f)
    rules.request(f)
    chain.blockpage.request(f)
    rules.response(f)
    return f


def test_childs_device_gets_its_level_and_its_parents_rules(chain: Chain) -> None:
    rules, writer = home_chain(chain)
    assert chain.runtime.home_clients["127.0.0.9"] == "lower-secondary"
    f = run(chain, rules, "http://www.tiktok.com/")
    verdict = f.metadata[VERDICT_KEY]
    assert (verdict.reason, verdict.group, verdict.matched) == (Reason.SERVICE, "lower-secondary", "tiktok")
    assert "Ứng dụng này đang tắt" in f.response.text and "TikTok" in f.response.text
    assert writer.blocks == [("2026-11-23", "bong", "service", "tiktok")]
    f = run(chain, rules, "http://www.roblox.com/")
    assert f.response is None and writer.usage == [("2026-11-23", "bong", "roblox", 1080)]
    f = run(chain, rules, "http://www.roblox.com/")  # the same minute: the budget of 1 minute is used
    assert f.metadata[VERDICT_KEY].reason is Reason.BUDGET and len(writer.usage) == 1
    assert run(chain, rules, "http://www.tiktok.com/", client="127.0.0.8").response is None  # not a child's device
    assert set(writer.devices) == {"127.0.0.9", "127.0.0.8"}


def test_already_handled_flows_are_left_alone(chain: Chain) -> None:
    rules, writer = home_chain(chain)
    from mitmproxy import http

    f = chain.flow("http://www.tiktok.com/", client="127.0.0.9")
    f.response = http.Response.make(200, b"ok")
    rules.request(f)
    assert f.response.status_code == 200 and BLOCKED_KEY not in f.metadata and not writer.devices


def test_school_profile_does_nothing(chain: Chain) -> None:
    chain.runtime.settings = replace(chain.runtime.settings, profile="school")
    rules = HomeRules(chain.runtime)
    rules.running()
    f = run(chain, rules, "http://www.tiktok.com/")
    assert f.response is None
