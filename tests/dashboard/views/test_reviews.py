from addons.infra import overrides_store
from tests.dashboard.conftest import Dash


def test_child_request_to_approval(dash: Dash) -> None:
    child = dash.client()
    form = child.get("/review?host=classchat.test&reason=category&category=chat&group=grade-7")
    assert "classchat.test" in form.text and "Đừng ghi tên" in form.text
    sent = child.post("/review", data={"host": "classchat.test", "reason": "category", "category": "chat",
                                       "group": "grade-7", "note": "bài tập nhóm"})
    assert sent.status_code == 200 and "#1" in sent.text.replace("số 1", "#1")
    other = dash.client("teacher2")
    assert "classchat.test" not in other.get("/reviews").text  # another grade's teacher sees nothing
    assert other.post("/reviews/1", data={"decision": "approve"}).status_code == 403
    t = dash.client("teacher")
    assert "bài tập nhóm" in t.get("/reviews").text
    assert t.post("/reviews/1", data={"decision": "approve", "days": "14"}).status_code == 303
    [o] = overrides_store.active(dash.settings.db_path)
    assert (o.kind, o.group, o.domains, o.ends - o.starts) == ("unblock", "grade-7", ("classchat.test",), 14 * 86400)
    assert t.post("/reviews/1", data={"decision": "deny"}).status_code == 400  # already decided


def test_public_forms_are_rate_limited(dash: Dash) -> None:
    child = dash.client()
    codes = [child.post("/review", data={"host": "a.test", "group": "grade-7"}).status_code for _ in range(11)]
    assert codes[:10] == [200] * 10 and codes[10] == 429
