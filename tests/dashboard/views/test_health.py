from tests.dashboard.conftest import Dash


def test_health(dash: Dash) -> None:
    r = dash.client().get("/-/health")
    assert r.status_code == 200 and r.json() == {"ok": True, "dashboard": "up", "proxy": "down"}
