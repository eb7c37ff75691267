import pytest

from addons.core.model import Kind
from tests.core.policy_helpers import compile_ok, errors_of


def test_defaults_by_kind_and_inheritance() -> None:
    p = compile_ok("groups:\n  grade-9:\n    youtube: moderate\n    block_files: [exe, .APK, application/x-bittorrent]\n")
    g9, g8 = p.groups["grade-9"].content, p.groups["grade-8"].content
    assert g9.youtube == "moderate" and g8.youtube == "strict"
    assert g9.block_extensions == {"exe", "apk"} and g9.block_mime == {"application/x-bittorrent"}
    assert str(g9.origin("youtube")) == "p1.yaml:3" and str(g8.origin("youtube")) == "(built-in default)"
    staff = p.groups["staff"]
    assert staff.kind is Kind.STAFF and not staff.content.safe_search and staff.content.phrase_threshold is None


def test_threshold_off() -> None:
    p = compile_ok("groups:\n  grade-9: {phrase_threshold: off, search_threshold: 25}\n")
    assert p.groups["grade-9"].content.phrase_threshold is None
    assert p.groups["grade-9"].content.search_threshold == 25


@pytest.mark.parametrize(
    "text, message",
    [
        ("safe_search: maybe", "safe_search of group 'grade-9' must be true or false"),
        ("youtube: loose", "youtube of group 'grade-9' must be one of strict, moderate, off"),
        ("phrase_threshold: -5", "must be a positive whole number or off"),
        ("scan_pages: some", "must be one of uncategorised, all, off"),
        ("block_files: [exe, 'not a type!']", "is not an extension or MIME type"),
        ("personal_info: yes", "must be one of warn, off"),
    ],
)
def test_errors(text: str, message: str) -> None:
    errors = errors_of(f"groups:\n  grade-9:\n    {text}\n")
    assert any(message in e for e in errors), errors
