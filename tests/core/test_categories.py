import pytest

from addons.core.categories import parse_categories
from addons.core.errors import Collector
from addons.core.yamlsrc import parse
from tests.core.policy_helpers import categories


def test_catalogue() -> None:
    cats = categories()
    assert cats.resolve("social") == "social_networks" and cats.resolve("adult") == "adult"
    assert cats.resolve("nope") is None
    assert cats.locked == frozenset({"csam"})
    assert cats.by_id["gambling"].name("vi") == "Cờ bạc" and cats.by_id["gambling"].name("en") == "Gambling"


@pytest.mark.parametrize(
    "text, message",
    [
        ("cats: {}", "expected one top-level key 'categories'"),
        ("categories:\n  Bad-Id: {name: x}", "category id 'Bad-Id' is not valid"),
        ("categories:\n  a: {name: x, lokced: true}", "unknown key 'lokced' in category 'a'. Fix: did you mean 'locked'?"),
        ("categories:\n  a: {name: {vi: x}}", "needs both 'vi' and 'en'"),
        ("categories:\n  a: {name: x, locked: yes}", "'locked' must be true or false"),
        ("categories:\n  a: {name: x, aliases: [b]}\n  b: {name: y}", "alias 'b' is already used"),
        ("categories:\n  a: {}", "category 'a' has no name"),
    ],
)
def test_errors(text: str, message: str) -> None:
    c = Collector()
    data, errs = parse(text, "categories.yaml")
    assert not errs
    cats = parse_categories(data, "categories.yaml", c)
    assert any(message in str(e) for e in c.errors), [str(e) for e in c.errors]
    if "locked: yes" in text:
        assert cats.by_id["a"].locked  # a malformed lock fails safe
