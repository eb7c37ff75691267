"""The department's storage, on SQLite and on a real PostgreSQL server: exports
stored once, roll-ups that answer the views, stale schools, the yearly report."""

from __future__ import annotations

from datetime import date

from dashboard.department.store import DepartmentStore
from tests.dashboard.department.conftest import at, make_export

DAY = date(2026, 11, 24)


def register(store: DepartmentStore) -> None:
    store.register("79-TH-0001", "TH Lê Lợi", "TP Hồ Chí Minh", "Quận 1", ["primary"], "k1", now=at("2026-11-01T00:00"))
    store.register("79-TH-0002", "TH Nguyễn Du", "TP Hồ Chí Minh", "Quận 3", ["primary"], "k2", now=at("2026-11-01T00:00"))
    store.register("01-THCS-0001", "THCS Chu Văn An", "Hà Nội", "Ba Đình", ["lower-secondary"], "k3",
                   now=at("2026-11-01T00:00"))


def test_migrate_and_register(store: DepartmentStore) -> None:
    assert store.migrate() == []  # already applied
    register(store)
    s = store.school("79-TH-0001")
    assert s is not None and s.levels == ("primary",) and s.province == "TP Hồ Chí Minh" and s.disabled is None
    store.register("79-TH-0001", "TH Lê Lợi (mới)", "TP Hồ Chí Minh", "Quận 1", ["primary"], "k9")
    assert store.school("79-TH-0001").name == "TH Lê Lợi (mới)" and store.school("79-TH-0001").public_key == "k9"
    assert [x.id for x in store.schools(province="Hà Nội")] == ["01-THCS-0001"]
    assert store.disable("79-TH-0002") and store.school("79-TH-0002").disabled is not None
    assert not store.disable("nope")


def test_an_export_is_stored_once_and_rolled_up(store: DepartmentStore) -> None:
    register(store)
    s1, s3 = store.school("79-TH-0001"), store.school("01-THCS-0001")
    e = make_export("79-TH-0001", at("2026-11-24T09:00"))
    assert store.ingest(s1, e, at("2026-11-24T10:01"))
    assert not store.ingest(s1, e, at("2026-11-24T10:05"))  # the same period again: nothing new
    store.ingest(s1, make_export("79-TH-0001", at("2026-11-24T10:00")), at("2026-11-24T11:01"))
    store.ingest(s3, make_export("01-THCS-0001", at("2026-11-24T09:00"),
                                 [("lower-secondary", "adult", "block", 7), ("lower-secondary", "games", "block", 9)]),
                 at("2026-11-24T10:02"))
    assert store.export_count() == 3 and store.export_periods("79-TH-0001") == [at("2026-11-24T09:00"),
                                                                               at("2026-11-24T10:00")]
    assert store.totals(DAY, DAY) == {("games", "block"): 29, ("uncategorised", "allow"): 400, ("adult", "block"): 7}
    assert store.totals(DAY, DAY, province="Hà Nội") == {("adult", "block"): 7, ("games", "block"): 9}
    assert store.totals(DAY, DAY, province="TP Hồ Chí Minh", district="Quận 1", level="primary") == {
        ("games", "block"): 20, ("uncategorised", "allow"): 400}
    assert store.by_level(DAY, DAY)[("lower-secondary", "block")] == 16
    assert store.trend(DAY, DAY) == [("2026-11-24", 36)]
    assert store.by_province(DAY, DAY)[("TP Hồ Chí Minh", "block")] == 20
    assert store.totals(date(2026, 11, 25), date(2026, 11, 30)) == {}


def test_many_exports_in_one_batch_skip_the_ones_already_stored(store: DepartmentStore) -> None:
    register(store)
    s1 = store.school("79-TH-0001")
    items = [(s1, make_export("79-TH-0001", at("2026-11-24T00:00") + h * 3600)) for h in range(24)]
    assert store.ingest_many(items[:10], at("2026-11-25T00:00")) == 10
    assert store.ingest_many(items, at("2026-11-25T00:00")) == 14
    assert store.ingest_many(items, at("2026-11-25T00:00")) == 0
    assert store.totals(DAY, DAY)[("games", "block")] == 240


def test_school_rows_flag_silent_schools_and_stale_lists(store: DepartmentStore) -> None:
    register(store)
    now = at("2026-11-25T12:00")
    lists = [("blocklists/adult/domains", "adult", 1200, at("2026-11-24T00:00"))]
    old_lists = [("blocklists/adult/domains", "adult", 1200, at("2026-10-01T00:00"))]
    store.ingest(store.school("79-TH-0001"), make_export("79-TH-0001", at("2026-11-25T10:00"), lists=lists,
                                                         baseline_version="2026-12"), now)
    store.ingest(store.school("79-TH-0002"), make_export("79-TH-0002", at("2026-11-22T10:00"), lists=old_lists), now)
    rows = {r["id"]: r for r in store.school_rows(DAY, DAY, now)}
    assert not rows["79-TH-0001"]["not_reporting"] and not rows["79-TH-0001"]["stale_lists"]
    assert rows["79-TH-0002"]["not_reporting"] and rows["79-TH-0002"]["stale_lists"]
    assert rows["01-THCS-0001"]["not_reporting"] and rows["01-THCS-0001"]["last_period_end"] is None
    assert rows["79-TH-0001"]["baseline_version"] == "2026-12" and rows["79-TH-0001"]["list_entries"] == 1200
    assert store.baselines() == {"2026-12": 1, "": 1}
    # an older export arriving late does not roll the school's state back
    store.ingest(store.school("79-TH-0001"), make_export("79-TH-0001", at("2026-11-20T10:00"), lists=old_lists), now)
    assert not {r["id"]: r for r in store.school_rows(DAY, DAY, now)}["79-TH-0001"]["stale_lists"]
    # A subscribed source that stopped updating makes the school stale, even if a local file is new;
    # an old local file beside fresh subscriptions does not.
    stuck = [("sources/ut1/adult.domains", "adult", 900, at("2026-11-01T00:00")),
             ("blocklists/extra/domains", "gambling", 3, at("2026-11-25T00:00"))]
    fresh = [("sources/ut1/adult.domains", "adult", 900, at("2026-11-25T00:00")),
             ("blocklists/extra/domains", "gambling", 3, at("2025-01-01T00:00"))]
    store.ingest(store.school("79-TH-0001"), make_export("79-TH-0001", at("2026-11-25T11:00"), lists=stuck), now)
    assert {r["id"]: r for r in store.school_rows(DAY, DAY, now)}["79-TH-0001"]["stale_lists"]
    store.ingest(store.school("79-TH-0001"), make_export("79-TH-0001", at("2026-11-25T12:00"), lists=fresh), now)
    assert not {r["id"]: r for r in store.school_rows(DAY, DAY, now)}["79-TH-0001"]["stale_lists"]
    # A source removed at the school is forgotten: only the newest export's lists count.
    store.ingest(store.school("79-TH-0001"), make_export("79-TH-0001", at("2026-11-25T13:00"), lists=lists), now)
    assert {r["id"]: r for r in store.school_rows(DAY, DAY, now)}["79-TH-0001"]["list_entries"] == 1200


def test_yearly_figures_and_daily_events(store: DepartmentStore) -> None:
    register(store)
    s1, s3 = store.school("79-TH-0001"), store.school("01-THCS-0001")
    store.ingest(s1, make_export("79-TH-0001", at("2026-03-02T09:00")), at("2026-03-02T10:00"))
    store.ingest(s1, make_export("79-TH-0001", at("2026-11-23T23:00"), day="2026-11-23",
                                 alerts=[("self_harm", 6)], reviews=[("approved", 5)], reports=[("new", 8)]),
                 at("2026-11-24T00:01"))
    store.ingest(s3, make_export("01-THCS-0001", at("2025-11-02T09:00")), at("2025-11-02T10:00"))  # last year
    y = store.yearly(date(2025, 12, 1), date(2026, 11, 30))
    assert y["schools"] == 3 and y["reporting"] == 1
    assert sorted(y["cells"]) == [("TP Hồ Chí Minh", "primary", "games", "block", 20),
                                  ("TP Hồ Chí Minh", "primary", "uncategorised", "allow", 400)]
    assert sorted(y["events"]) == [("alerts", "self_harm", 6), ("reports", "new", 8), ("reviews", "approved", 5)]
    assert y["uptime"]["79-TH-0001"] == 1.0
    assert store.yearly(date(2025, 12, 1), date(2026, 11, 30), province="Hà Nội")["cells"] == []


def test_harmful_domains_need_several_schools(store: DepartmentStore) -> None:
    register(store)
    for sid, domains in (("79-TH-0001", ["new-bad.test", "only-one.test"]), ("79-TH-0002", ["new-bad.test"])):
        store.ingest(store.school(sid), make_export(sid, at("2026-11-23T23:00"), day="2026-11-23",
                                                    harmful=[(d, "adult") for d in domains]), at("2026-11-24T00:00"))
    assert store.harmful_domains(2) == {"adult": ["new-bad.test"]}
    assert store.harmful_domains(1) == {"adult": ["new-bad.test", "only-one.test"]}


def test_authority_reports_are_stored_once(store: DepartmentStore) -> None:
    register(store)
    s1 = store.school("79-TH-0001")
    body = ('{"category":"csam","distance":3,"entry":"img-1","host":"x.test","id":"r-123456789","list":"l",'
            '"match":"pdq","school_id":"79-TH-0001","time":1764000000,"type":"known_abuse_material"}')
    assert store.ingest_authority(s1, "r-123456789", body, 1764000100)
    assert not store.ingest_authority(s1, "r-123456789", body, 1764000200)
    [r] = store.authority_reports()
    assert r["entry"] == "img-1" and r["host"] == "x.test" and r["school_id"] == "79-TH-0001"


def test_spans_split_whole_months_from_edge_days() -> None:
    from datetime import date

    from dashboard.department.store import _spans
    assert _spans(date(2025, 12, 1), date(2026, 11, 30)) == [("counts_province_monthly", "2025-12", "2026-11")]
    assert _spans(date(2025, 11, 26), date(2026, 11, 25)) == [
        ("counts_province_monthly", "2025-12", "2026-10"), ("counts_province_daily", "2025-11-26", "2025-11-30"),
        ("counts_province_daily", "2026-11-01", "2026-11-25")]
    assert _spans(date(2026, 2, 3), date(2026, 2, 20)) == [("counts_province_daily", "2026-02-03", "2026-02-20")]
    assert _spans(date(2026, 1, 15), date(2026, 2, 28)) == [
        ("counts_province_monthly", "2026-02", "2026-02"), ("counts_province_daily", "2026-01-15", "2026-01-31")]


def test_roll_ups_agree_with_the_detail(store: DepartmentStore) -> None:
    """Whatever table answers (national, province, monthly, a district's schools), the figures agree."""
    from datetime import date
    register(store)
    items = []
    for school_id in ("79-TH-0001", "79-TH-0002", "01-THCS-0001"):
        for day in ("2026-01-30", "2026-02-10", "2026-03-02"):
            export = make_export(school_id, at(f"{day}T23:00"), [("primary", "games", "block", 6),
                                                                  ("lower-secondary", "adult", "block", 9)],
                                 day=day, alerts=[("self_harm", 5)])
            items.append((store.school(school_id), export))
    store.ingest_many(items, at("2026-03-03T00:00"))
    everything = {("games", "block"): 54, ("adult", "block"): 81}  # 3 schools x 3 days
    for a, b in ((date(2026, 1, 1), date(2026, 3, 31)), (date(2026, 1, 30), date(2026, 3, 2)),
                 (date(2026, 2, 1), date(2026, 2, 28))):
        whole = a.month == 1
        expected = everything if whole else {k: v // 3 for k, v in everything.items()}
        assert store.totals(a, b) == expected, (a, b)
        assert sum(store.by_province(a, b).values()) == sum(expected.values())
        yearly = store.yearly(a, b)
        assert sum(n for *_, n in yearly["cells"]) == sum(expected.values())
        assert dict(((k, name), n) for k, name, n in yearly["events"]) == {("alerts", "self_harm"): 45 if whole else 15}
    hcm = store.yearly(date(2026, 1, 1), date(2026, 3, 31), province="TP Hồ Chí Minh")
    assert sum(n for *_, n in hcm["cells"]) == 2 * 3 * 15
    district = store.yearly(date(2026, 1, 1), date(2026, 3, 31), province="TP Hồ Chí Minh", district="Quận 1")
    assert sum(n for *_, n in district["cells"]) == 45  # Quận 1: one school
    assert store.totals(date(2026, 1, 1), date(2026, 3, 31), province="TP Hồ Chí Minh") == {
        ("games", "block"): 36, ("adult", "block"): 54}
