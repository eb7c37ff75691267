from dataclasses import fields

import pytest

from addons.core.model import Action, Origin, Reason, Verdict
from addons.core.privacy import (
    INCIDENT_FIELDS,
    MAX_PATH,
    Incident,
    IncidentKind,
    Pseudonymizer,
    Severity,
    block_incident,
    clean_path,
    suppress_small,
    traffic_key,
)


def test_incident_fields_are_an_explicit_allow_list() -> None:
    assert INCIDENT_FIELDS == tuple(f.name for f in fields(Incident))
    assert "url" not in INCIDENT_FIELDS and "query" not in INCIDENT_FIELDS


@pytest.mark.parametrize(
    "path, expected",
    [
        ("/search?q=my+name+is+An", "/search"),
        ("/a#frag", "/a"),
        ("", "/"),
        ("/" + "x" * 300, "/" + "x" * (MAX_PATH - 2) + "…"),
    ],
)
def test_clean_path_drops_query_and_caps_length(path: str, expected: str) -> None:
    assert clean_path(path) == expected


def test_block_incident() -> None:
    v = Verdict(Action.BLOCK, Reason.CATEGORY, "grade-7", 7, "lower-secondary", category="games")
    inc = block_incident(v, "g.test", "/x?token=secret", 1700000000, "ab:123")
    assert inc.kind is IncidentKind.BLOCK and inc.severity is Severity.INFO
    assert inc.path == "/x" and inc.client_ref == "ab:123" and inc.client_addr is None and inc.detail is None


def test_locked_list_incident_is_a_critical_alert_without_the_entry() -> None:
    v = Verdict(Action.BLOCK, Reason.ILLEGAL, "staff", category="csam", origin=Origin("sources/iwf/csam.urls", 12),
                matched="entry 12")
    inc = block_incident(v, "bad.test", "/abuse/picture.jpg?x=1", 1700000000, "ab:123")
    assert inc.kind is IncidentKind.ALERT and inc.severity is Severity.CRITICAL
    assert inc.path is None and inc.host == "bad.test" and inc.category == "csam"
    assert inc.detail == "sources/iwf/csam.urls entry 12"
    assert "abuse" not in repr(inc)


def test_pseudonyms_are_keyed() -> None:
    a, b = Pseudonymizer(b"k" * 32, "k1"), Pseudonymizer(b"j" * 32, "k2")
    assert a("10.0.0.5") == a("10.0.0.5") != a("10.0.0.6")
    assert a("10.0.0.5").split(":")[1] != b("10.0.0.5").split(":")[1]
    assert "10.0.0.5" not in a("10.0.0.5")
    with pytest.raises(ValueError):
        Pseudonymizer(b"short", "x")


def test_traffic_key_has_no_device_or_site() -> None:
    v = Verdict(Action.ALLOW, Reason.DEFAULT, "grade-7", 7, "lower-secondary", category="games")
    k = traffic_key(v, 7200 + 59)
    assert k.hour == 7200 and k.category == "games" and k.level == "lower-secondary"
    assert {f.name for f in fields(k)} == {"hour", "group_id", "level", "category", "action", "reason"}


def test_suppress_small() -> None:
    assert suppress_small({("a",): 4, ("b",): 5}, 5) == {("b",): 5}
