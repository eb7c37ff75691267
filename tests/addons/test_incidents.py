import json
import sqlite3
import time
from dataclasses import replace

from addons.core.settings import Settings
from addons.incidents import IncidentLog
from tests.addons.conftest import Chain

LISTS = "blocklists"


async def make_log(chain: Chain, **changes: object) -> IncidentLog:
    if changes:
        chain.runtime.settings = replace(chain.runtime.settings, **changes)
    log = IncidentLog(chain.runtime)
    await log.running()
    return log


async def test_blocks_become_minimal_incidents_and_allowed_traffic_only_counts(chain: Chain) -> None:
    log = await make_log(chain)
    blocked = chain.request(chain.flow("http://bet.test/page?name=An&phone=0912345678", client="127.0.0.7"))
    log.response(blocked)
    log.response(blocked)  # the same verdict is recorded once
    allowed = chain.request(chain.flow("http://school.test/homework", client="127.0.0.7"))
    log.error(allowed)
    await log.done()
    settings: Settings = chain.runtime.settings
    with sqlite3.connect(settings.db_path) as conn:
        rows = conn.execute("SELECT group_id, grade, level, reason, category, host, path, client_ref, client_addr "
                            "FROM incidents").fetchall()
        assert len(rows) == 1
        group, grade, level, reason, category, host, path, ref, addr = rows[0]
        assert (group, grade, level, reason, category, host, path) == (
            "grade-7", 7, "lower-secondary", "category", "gambling", "bet.test", "/page")
        assert addr is None and "127.0.0.7" not in ref
        counts = conn.execute("SELECT group_id, category, action, count FROM traffic_hourly ORDER BY action").fetchall()
        assert counts == [("grade-7", "", "allow", 1), ("grade-7", "gambling", "block", 1)]
        # nothing about the allowed request beyond the count
        assert not conn.execute("SELECT 1 FROM incidents WHERE host = 'school.test'").fetchone()


async def test_raw_addresses_only_when_the_admin_asks(chain: Chain) -> None:
    log = await make_log(chain, store_client_addresses=True)
    log.response(chain.request(chain.flow("http://bet.test/", client="127.0.0.7")))
    await log.done()
    with sqlite3.connect(chain.runtime.settings.db_path) as conn:
        assert conn.execute("SELECT client_addr FROM incidents").fetchone()[0] == "127.0.0.7"


async def test_maintenance_rotates_and_applies_retention(chain: Chain) -> None:
    log = await make_log(chain)
    before = log.pseudonymize
    assert before is not None
    removed = await log.maintain(now=time.time() + 8 * 86400)
    assert log.pseudonymize is not None and log.pseudonymize("x") != before("x")
    assert set(removed) == {"incidents", "alerts", "addresses", "traffic_hours", "outbox_delivered"}
    assert chain.runtime.stats.gauges["incident_queue_depth"]() == 0
    await log.done()


def test_flows_without_a_verdict_are_ignored(chain: Chain) -> None:
    log = IncidentLog(chain.runtime)
    log.response(chain.flow("http://x.test/"))  # no writer, no verdict: nothing happens


async def test_policy_changes_are_recorded(chain: Chain) -> None:
    from dataclasses import replace as dc_replace

    log = await make_log(chain)
    log.note_policy_changes()  # the first version is the baseline
    snap = chain.runtime.snapshot
    assert snap is not None
    chain.runtime.snapshot = dc_replace(snap, version="new-version")
    log.note_policy_changes()
    chain.runtime.stats.reload_failures += 1
    log.note_policy_changes()
    log.note_policy_changes()  # nothing new
    await log.done()
    with sqlite3.connect(chain.runtime.settings.db_path) as conn:
        rows = conn.execute("SELECT kind, reason, detail FROM incidents ORDER BY id").fetchall()
    assert rows == [("policy_change", "reloaded", "version new-version"),
                    ("policy_change", "refused", "version new-version kept")]


async def test_locked_list_matches_are_critical_alerts_reported_to_the_authorities(chain: Chain) -> None:
    log = await make_log(chain, school_id="79-TH-001")
    for client in ("127.0.0.20", "127.0.0.7", "127.0.0.20"):  # staff too; the same entry and host twice
        log.response(chain.request(chain.flow("http://share.test/album/7/picture.jpg?u=1", client=client)))
    log.response(chain.request(chain.flow("http://locked.test/", client="127.0.0.30")))
    await log.done()
    with sqlite3.connect(chain.runtime.settings.db_path) as conn:
        rows = conn.execute("SELECT kind, severity, group_id, reason, category, host, path, detail "
                            "FROM incidents ORDER BY id").fetchall()
        reports = [json.loads(r[0]) for r in conn.execute("SELECT body FROM outbox ORDER BY created, id")]
    assert len(rows) == 4
    assert rows[0] == ("alert", "critical", "staff", "illegal", "csam", "share.test", None,
                       f"{LISTS}/csam/urls entry 1")
    assert rows[3][2] == "guest" and rows[3][7] == f"{LISTS}/csam/domains entry 1"
    assert sorted((r["host"], r["match"], r["entry"]) for r in reports) == [
        ("locked.test", "domain", "1"), ("share.test", "url", "1")]
    for r in reports:
        assert r["school_id"] == "79-TH-001" and r["category"] == "csam"
        assert "album" not in json.dumps(r) and "127.0.0" not in json.dumps(r)  # no path, no device
