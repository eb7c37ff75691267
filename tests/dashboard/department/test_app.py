"""The department app's shell: sign-in first, cross-site posts refused except
for the signed API, security headers, first-admin setup."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from addons.core.settings import Settings
from dashboard.department.app import create_department_app
from dashboard.department.store import DepartmentStore
from tests.dashboard.department.conftest import PASSWORD, VN, Dept


def test_pages_need_a_sign_in(dept: Dept) -> None:
    c = dept.client()
    for path in ("/", "/schools", "/yearly", "/authority"):
        r = c.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
    r = c.get("/login")
    assert r.status_code == 200 and "Đăng nhập" in r.text
    assert "default-src" in r.headers["content-security-policy"]
    assert c.get("/-/static/app.css").status_code == 200


def test_cross_site_posts_are_refused_but_not_signed_reports(dept: Dept) -> None:
    c = dept.client()
    r = c.post("/login", data={"name": "admin", "password": PASSWORD}, headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403 and r.json()["error"] == "cross-site request refused"
    r = c.post("/api/v1/exports", content=b"{}", headers={"Sec-Fetch-Site": "cross-site"})
    # Judged by its school and signature, never by the browser's CSRF rules.
    assert r.status_code == 400 and "X-Schoolgate-School header is missing" in r.json()["error"]


def test_first_admin_with_the_setup_link(tmp_path: Path) -> None:
    settings = Settings(data_dir=str(tmp_path / "dept"))
    settings.data_path.mkdir()
    store = DepartmentStore(settings.department_store, VN)
    store.migrate()
    app = create_department_app(settings, store, setup_token="tok-123")
    c = TestClient(app, base_url="https://dept.test", follow_redirects=False,
                   headers={"Sec-Fetch-Site": "same-origin"})
    assert c.get("/setup?token=wrong").status_code in (403, 404)
    assert c.get("/setup?token=tok-123").status_code == 200
    r = c.post("/setup", data={"token": "tok-123", "name": "so-admin", "password": PASSWORD,
                               "password2": PASSWORD})
    assert r.status_code == 303, r.text
    assert c.get("/").status_code == 200  # signed in as the new admin
    store.db.close()
