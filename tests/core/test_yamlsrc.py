import pytest

from addons.core.errors import Collector
from addons.core.yamlsrc import LList, LMap, check_keys, parse


def test_lines_are_kept() -> None:
    data, errors = parse("a: 1\nb:\n  - x\n  - y\nc: {d: e}\n", "f.yaml")
    assert not errors
    assert isinstance(data, LMap) and data.line_of("b") == 2 and data.line_of("c") == 5
    assert isinstance(data["b"], LList) and data["b"].line_of(1) == 4


@pytest.mark.parametrize(
    "text, value",
    [
        ("t: 07:00", "07:00"),  # YAML 1.1 would read 420
        ("t: no", "no"),  # YAML 1.1 would read False
        ("t: on", "on"),
        ("t: true", True),
        ("t: 12", 12),
        ("t: 1.5", 1.5),
    ],
)
def test_yaml_12_scalars(text: str, value: object) -> None:
    data, errors = parse(text, "f.yaml")
    assert not errors and data["t"] == value


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a' (first defined on line 1)"),
        ("a: [1, 2\nb: 3\n", 2, "YAML syntax error"),
        ("a:\n\t- x\n", 2, "YAML syntax error"),
    ],
)
def test_errors_name_the_line(text: str, line: int, message: str) -> None:
    data, errors = parse(text, "p.yaml")
    assert data is None and len(errors) == 1
    assert errors[0].line == line and message in errors[0].message
    assert str(errors[0]).startswith(f"p.yaml:{line}: ") and "Fix: " in str(errors[0])


def test_check_keys_suggests_and_migrates() -> None:
    data, _ = parse("categoris: {}\nwhitelist: [a.com]\n", "p.yaml")
    c = Collector()
    check_keys(data, ("categories", "allow"), "group 'x'", "p.yaml", c, {"whitelist": "allow"})
    assert [str(e) for e in c.errors] == [
        "p.yaml:1: unknown key 'categoris' in group 'x'. Fix: did you mean 'categories'?"
    ]
    assert "old name of 'allow'" in str(c.warnings[0]) and data["allow"] == ["a.com"]
