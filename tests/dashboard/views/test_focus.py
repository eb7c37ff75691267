from addons.infra import overrides_store
from tests.dashboard.conftest import Dash


def test_teacher_starts_and_stops_focus_mode(dash: Dash) -> None:
    t = dash.client("teacher")
    assert t.post("/focus", data={"group": "grade-7", "sites": "olm.vn\nvi.wikipedia.org", "minutes": "40",
                                  "note": "Sinh học"}).status_code == 303
    [o] = overrides_store.active(dash.settings.db_path)
    assert o.kind == "focus" and o.domains == ("olm.vn", "vi.wikipedia.org") and o.created_by == "teacher"
    assert "olm.vn" in t.get("/focus").text
    assert t.post("/focus", data={"group": "grade-3", "sites": "x.test"}).status_code == 403
    assert t.post("/focus", data={"group": "grade-7", "sites": ""}).status_code == 400
    assert t.post(f"/focus/{o.id}/stop").status_code == 303
    assert overrides_store.active(dash.settings.db_path) == []
