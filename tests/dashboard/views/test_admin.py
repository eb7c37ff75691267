from addons.infra import accounts
from tests.dashboard.conftest import Dash


def test_users_and_audit(dash: Dash) -> None:
    admin = dash.client("admin")
    r = admin.post("/users", data={"name": "co-lan", "password": "a strong password", "role": "teacher",
                                   "groups": ["grade-7", "grade-8"], "safeguarding": "on"})
    assert r.status_code == 303
    lan = [u for u in accounts.users(dash.settings.db_path) if u.name == "co-lan"][0]
    assert lan.groups == ("grade-7", "grade-8") and lan.safeguarding
    assert admin.post("/users", data={"name": "co-lan", "password": "a strong password",
                                      "role": "teacher"}).status_code == 400
    assert admin.post("/users/co-lan/disable").status_code == 303
    assert accounts.authenticate(dash.settings.db_path, "co-lan", "a strong password") is None
    t = dash.client("teacher")
    t.post("/policies/grade-7", data={"allow": "wiki.test"})
    audit = admin.get("/audit").text
    assert "policy_saved" in audit and "user_added" in audit
    aid = int(audit.split('action="/audit/')[1].split("/")[0])
    assert admin.post(f"/audit/{aid}/revert").status_code == 303
    assert "policy_reverted" in admin.get("/audit").text
    assert "lists" in admin.get("/lists").text.lower()
