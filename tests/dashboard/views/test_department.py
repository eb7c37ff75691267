from tests.dashboard.conftest import Dash


def test_department_sees_aggregates_only(dash: Dash) -> None:
    d = dash.client("department")
    r = d.get("/department?format=json")
    assert r.status_code == 200 and r.json()["ok"] is True and r.json()["data"]["minimum"] == 5
    page = d.get("/department").text
    assert "JSON" in page
    for path in ("/reviews", "/alerts", "/incidents", "/policies", "/users"):
        assert d.get(path).status_code == 403
