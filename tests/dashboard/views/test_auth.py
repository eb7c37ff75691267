from addons.infra import accounts
from tests.dashboard.conftest import PASSWORD, Dash


def test_login_logout_and_throttling(dash: Dash) -> None:
    c = dash.client()
    assert c.post("/login", data={"name": "admin", "password": "wrong"}).status_code == 401
    r = c.post("/login", data={"name": "admin", "password": PASSWORD, "next": "//evil.test/"})
    assert r.status_code == 303 and r.headers["location"] == "/"  # no open redirect
    assert c.get("/").status_code == 200
    assert c.post("/logout").status_code == 303
    assert c.get("/").status_code == 303  # signed out: the session is gone server-side
    for _ in range(5):
        c.post("/login", data={"name": "teacher", "password": "nope"})
    assert c.post("/login", data={"name": "teacher", "password": PASSWORD}).status_code == 429


def test_first_admin_setup_link_works_once(settings) -> None:  # type: ignore[no-untyped-def]
    from dashboard.app import create_app
    from tests.dashboard.conftest import Dash

    settings.data_path.mkdir(parents=True, exist_ok=True)
    dash = Dash(settings, create_app(settings, setup_token="tok-123"))
    c = dash.client()
    assert c.get("/setup?token=wrong").status_code == 404
    assert c.get("/setup?token=tok-123").status_code == 200
    assert c.post("/setup", data={"token": "tok-123", "name": "it-admin", "password": "short"}).status_code == 400
    r = c.post("/setup", data={"token": "tok-123", "name": "it-admin", "password": "a long enough secret"})
    assert r.status_code == 303 and c.get("/users").status_code == 200
    assert dash.client().get("/setup?token=tok-123").status_code == 404  # used
    assert [u.name for u in accounts.users(settings.db_path)] == ["it-admin"]
