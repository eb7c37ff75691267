from addons.core.model import Action, RequestView
from addons.infra.loader import load_snapshot
from tests.dashboard.conftest import Dash


def test_teacher_edits_their_grade_and_errors_show_next_to_the_field(dash: Dash) -> None:
    c = dash.client("teacher")
    assert "grade-7" in c.get("/policies").text and "grade-3" not in c.get("/policies").text
    r = c.post("/policies/grade-7", data={"allow": "classchat.test\n", "deny": "", "closed_during": ""})
    assert r.status_code == 303 and "saved=1" in r.headers["location"]
    snap = load_snapshot(dash.settings).snapshot
    assert snap.decide(RequestView("classchat.test"), snap.group("grade-7")).action is Action.ALLOW
    assert snap.decide(RequestView("classchat.test"), snap.group("grade-3")).action is Action.BLOCK
    bad = c.post("/policies/grade-7", data={"allow": "ok.test", "deny": "ok.test"})
    assert bad.status_code == 400 and 'class="field-error"' in bad.text and "aria-invalid" in bad.text
    bad = c.post("/policies/grade-7", data={"closed_during": "no-such-schedule"})
    assert bad.status_code == 400 and "unknown schedule" in bad.text
    assert c.post("/policies/grade-3", data={"allow": "x.test"}).status_code == 403
    assert c.get("/policies/grade-99").status_code == 404
