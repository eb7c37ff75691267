from datetime import datetime
from zoneinfo import ZoneInfo

from addons.core.lists import DomainIndex, SourceMeta, build_index
from addons.core.model import Action, RequestView
from addons.core.snapshot import Runtime, Snapshot
from tests.core.policy_helpers import categories, compile_ok


def test_snapshot_maps_clients_and_decides_in_the_school_time_zone() -> None:
    cats = categories()
    ids = list(cats.by_id)
    index = DomainIndex(build_index(ids, cats.locked, [SourceMeta("l", "games", "domains")],
                                    [("games.test", ids.index("games"), 0, 1)]))
    policy = compile_ok(
        "groups:\n  grade-9: {categories: {games: {block_during: school-day}}}\n"
        "clients:\n  - {network: 10.9.0.0/16, group: grade-9}\n"
    )
    snap = Snapshot(policy, cats, index, ZoneInfo("Asia/Ho_Chi_Minh"), "v1")
    assert snap.client("10.9.3.4").group == "grade-9" and snap.client("10.1.1.1").group == "default"
    req = RequestView("games.test")
    # 02:00 UTC on a Monday is 09:00 in Hanoi: inside the school day.
    at = datetime.fromisoformat("2026-11-23T02:00+00:00").astimezone(snap.tz)
    assert snap.decide(req, snap.group("grade-9"), at).action is Action.BLOCK
    at = datetime.fromisoformat("2026-11-23T11:00+00:00").astimezone(snap.tz)
    assert snap.decide(req, snap.group("grade-9"), at).action is Action.ALLOW
    assert snap.now().tzinfo is snap.tz
    assert Runtime().snapshot is None
