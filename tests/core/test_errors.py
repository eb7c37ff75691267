import pytest

from addons.core.errors import Collector, ConfigError, ConfigErrors, suggest


def test_format() -> None:
    assert str(ConfigError("a.yaml", 3, "bad", "do this")) == "a.yaml:3: bad. Fix: do this"
    assert str(ConfigError("a.yaml", None, "bad")) == "a.yaml: bad"
    assert str(ConfigError("a.yaml", 1, "odd", "x", warning=True)) == "a.yaml:1: warning: odd. Fix: x"


def test_collector_raises_all_errors_not_warnings() -> None:
    c = Collector()
    c.error("a", 1, "one")
    c.warn("a", 2, "just a warning")
    c.error("b", 3, "two")
    with pytest.raises(ConfigErrors) as e:
        c.raise_if_errors()
    assert [x.message for x in e.value.errors] == ["one", "two"]
    Collector().raise_if_errors()  # nothing to raise


@pytest.mark.parametrize(
    "word, choices, expected",
    [
        ("gamblin", ["gambling", "games"], "did you mean 'gambling'?"),
        ("zzz", ["b", "a"], "valid: a, b"),
    ],
)
def test_suggest(word: str, choices: list[str], expected: str) -> None:
    assert suggest(word, choices) == expected
