from __future__ import annotations

from pathlib import Path

import pytest

from addons.core.categories import parse_categories
from addons.core.errors import Collector
from addons.core.services import parse_services
from addons.core.yamlsrc import parse

ROOT = Path(__file__).resolve().parents[2]


def categories():  # type: ignore[no-untyped-def]
    data, _ = parse((ROOT / "blocklists" / "categories.yaml").read_text("utf-8"), "categories.yaml")
    return parse_categories(data, "categories.yaml", Collector())


def load(text: str):  # type: ignore[no-untyped-def]
    data, errs = parse(text, "services.yaml")
    assert not errs
    errors = Collector()
    return parse_services(data, "services.yaml", categories(), errors), errors


REQUIRED = ["youtube", "tiktok", "facebook", "instagram", "zalo", "messenger", "discord", "roblox", "minecraft",
            "freefire", "lienquan", "pubg", "genshin", "netflix", "adult", "gambling", "violence"]


def test_shipped_file_has_every_required_service() -> None:
    services, errors = load((ROOT / "blocklists" / "services.yaml").read_text("utf-8"))
    assert errors.items == []
    assert set(REQUIRED) <= set(services.by_id)
    assert services.by_id["lienquan"].name("en").startswith("Arena of Valor")
    assert services.by_id["adult"].category == "adult"
    assert services.members("games") >= {"roblox", "minecraft", "freefire", "lienquan", "pubg", "genshin"}


@pytest.mark.parametrize("host,cats,want", [
    ("www.tiktok.com", (), ("tiktok",)),
    ("v16.tiktokcdn.com", (), ("tiktok",)),
    ("edge-chat.facebook.com", (), ("messenger",)),  # the most specific domain wins
    ("www.facebook.com", (), ("facebook",)),
    ("example.org", ("adult",), ("adult",)),
    ("example.org", (), ()),
])
def test_match(host: str, cats: tuple[str, ...], want: tuple[str, ...]) -> None:
    services, _ = load((ROOT / "blocklists" / "services.yaml").read_text("utf-8"))
    assert services.match(host, cats) == want


@pytest.mark.parametrize("text,match", [
    ("groups: {games: Games}\nservices:\n  roblox: {name: Roblox, group: game, domains: [roblox.com]}\n",
     r"services.yaml:3: service 'roblox' has unknown group 'game'. Fix: did you mean 'games'\?"),
    ("groups: {games: Games}\nservices:\n  roblox: {name: Roblox, group: games}\n",
     r"services.yaml:3: service 'roblox' has no domains"),
    ("groups: {games: Games}\nservices:\n  roblox:\n    name: Roblox\n    group: games\n    domain: [roblox.com]\n",
     r"services.yaml:6: unknown key 'domain' in service 'roblox'"),
    ("groups: {games: Games}\nservices:\n  a: {name: A, group: games, domains: [x.com]}\n"
     "  b: {name: B, group: games, domains: ['x.com']}\n", r"services.yaml:4: 'x.com' is listed by service 'a'"),
    ("groups: {content: C}\nservices:\n  p: {name: P, group: content, category: adlt}\n",
     r"services.yaml:3: unknown category 'adlt' for service 'p'"),
])
def test_errors_name_file_line_and_fix(text: str, match: str) -> None:
    _, errors = load(text)
    import re

    assert any(re.search(match, str(e)) for e in errors.errors), [str(e) for e in errors.errors]
