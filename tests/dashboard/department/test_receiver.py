"""The receiver refuses, with a clear error and nothing stored: a tampered
signature, an unknown or disabled school, a replayed report, malformed JSON, an
oversize body, personal data; it stores a good export once (SQLite and
PostgreSQL)."""

from __future__ import annotations

import json

from addons.infra import signing
from tests.dashboard.department.conftest import Dept, at, make_export, school_keys, signed

SCHOOL = school_keys("79-TH-0001")


def setup_school(dept: Dept) -> None:
    dept.store.register(SCHOOL.school_id, "TH Lê Lợi", "TP Hồ Chí Minh", "Quận 1", ["primary"], SCHOOL.public)


def post(dept: Dept, body: bytes, headers: dict[str, str], path: str = "/api/v1/exports"):  # type: ignore[no-untyped-def]
    return dept.client().post(path, content=body, headers=headers)


def nothing_stored(dept: Dept) -> bool:
    return dept.store.export_count() == 0 and dept.store.authority_reports() == []


def test_a_signed_export_is_stored_once(dept: Dept) -> None:
    setup_school(dept)
    export = make_export(SCHOOL.school_id, at("2026-11-24T09:00"))
    body, headers = signed(SCHOOL, export)
    r = post(dept, body, headers)
    assert r.status_code == 201 and r.json() == {"ok": True, "id": export["id"], "stored": True}
    r = post(dept, body, headers)  # replayed: refused, not stored twice
    assert r.status_code == 409 and "already received" in r.json()["error"]
    assert dept.store.export_count() == 1


def test_refusals_name_the_problem_and_store_nothing(dept: Dept) -> None:
    setup_school(dept)
    export = make_export(SCHOOL.school_id, at("2026-11-24T09:00"))
    body, headers = signed(SCHOOL, export)
    other = school_keys("79-TH-0002")
    cases = [
        ("tampered body", body.replace(b'"count":10', b'"count":99'), headers, 401, "signature check failed"),
        ("signed by another key", body, {**headers, "X-Schoolgate-Signature": signing.sign(body, other.private)},
         401, "signature check failed"),
        ("no signature", body, {k: v for k, v in headers.items() if k != "X-Schoolgate-Signature"}, 401,
         "signature check failed"),
        ("unknown school", *signed(other, make_export(other.school_id, at("2026-11-24T09:00"))), 403,
         "unknown school '79-TH-0002'"),
        ("no school header", body, {k: v for k, v in headers.items() if k != "X-Schoolgate-School"}, 400,
         "X-Schoolgate-School"),
        ("malformed JSON", b"{not json", {**headers, "X-Schoolgate-Signature": signing.sign(b"{not json",
                                                                                           SCHOOL.private)},
         400, "not valid JSON"),
        ("oversize", b"x" * 60_000, headers, 413, "at most 50000"),
    ]
    wrong_school = dict(make_export(SCHOOL.school_id, at("2026-11-24T09:00")), school_id="79-TH-0009")
    b = json.dumps(wrong_school).encode()
    cases.append(("another school's id in the body", b, {**headers, "X-Schoolgate-Signature":
                                                         signing.sign(b, SCHOOL.private)}, 400, "does not match"))
    personal = dict(export, counts=[{"level": "primary", "category": "games", "action": "block", "count": 9,
                                     "client_ref": "k1:0123456789abcdef"}])
    b = json.dumps(personal).encode()
    cases.append(("personal data", b, {**headers, "X-Schoolgate-Signature": signing.sign(b, SCHOOL.private)},
                  400, "personal fields"))
    for name, payload, hdrs, status, message in cases:
        r = post(dept, payload, hdrs)
        assert r.status_code == status, (name, r.status_code, r.text)
        assert message in r.json()["error"] and r.json()["ok"] is False, (name, r.text)
        assert nothing_stored(dept), name
    dept.store.disable(SCHOOL.school_id)
    r = post(dept, body, headers)
    assert r.status_code == 403 and "disabled" in r.json()["error"] and nothing_stored(dept)


def test_authority_reports(dept: Dept) -> None:
    from addons.core.outbox import authority_report

    setup_school(dept)
    item = authority_report(school_id=SCHOOL.school_id, ts=at("2026-11-24T09:00"), category="csam",
                            list_id="sources/a/csam.hashes", entry_id="img-1", match="pdq", host="x.test", distance=4)
    raw = item.body.encode()
    headers = {"X-Schoolgate-School": SCHOOL.school_id, "X-Schoolgate-Signature": signing.sign(raw, SCHOOL.private)}
    r = post(dept, raw, headers, "/api/v1/authority-reports")
    assert r.status_code == 201, r.text
    assert post(dept, raw, headers, "/api/v1/authority-reports").status_code == 409
    bad = json.dumps({**item.payload, "path": "/gallery/1.jpg"}).encode()
    r = post(dept, bad, {**headers, "X-Schoolgate-Signature": signing.sign(bad, SCHOOL.private)},
             "/api/v1/authority-reports")
    assert r.status_code == 400 and "not an authority report" in r.json()["error"]
    [stored] = dept.store.authority_reports()
    assert stored["entry"] == "img-1" and stored["distance"] == 4
