"""The access matrix: every route, every role and anonymous."""

import pytest
from starlette.routing import Mount, Route

from addons.infra import overrides_store
from dashboard.app import PUBLIC, ROUTES
from tests.dashboard.conftest import Dash

ROLES = (None, "admin", "teacher", "department")
# path → roles that may GET it (None = anonymous allowed for public pages)
GET_ACCESS = {
    "/": {"admin", "teacher", "department"},
    "/policies": {"admin", "teacher"},
    "/policies/grade-7": {"admin", "teacher"},
    "/policies/grade-3": {"admin"},  # the teacher is assigned grade-7 only
    "/reviews": {"admin", "teacher"},
    "/reports": {"admin"},
    "/focus": {"admin", "teacher"},
    "/alerts": {"admin", "teacher"},  # the teacher is designated for safeguarding
    "/incidents": {"admin"},
    "/lists": {"admin"},
    "/users": {"admin"},
    "/audit": {"admin"},
    "/department": {"admin", "department"},
    "/family": {"admin"},  # and the home profile's parent (tests/dashboard/views/test_family.py)
    "/family/summary": {"admin"},
}
PUBLIC_GET = ("/login", "/review?host=a.test", "/report", "/-/health")


def test_every_route_is_in_the_matrix() -> None:
    paths = {r.path for r in ROUTES if isinstance(r, Route)}
    covered = {p.split("?")[0] for p in (*GET_ACCESS, *PUBLIC_GET)} | {"/policies/{group}", "/logout", "/setup",
               "/reviews/{rid:int}", "/reports/{rid:int}", "/focus/{oid:int}/stop", "/users/{name}/disable",
               "/audit/{aid:int}/revert", "/family/setup", "/family/child/new", "/family/child/{cid}/edit",
               "/family/child/{cid}/devices", "/family/child/{cid}/rules", "/family/child/{cid}/{action}",
               "/family/{action}"}
    assert paths <= covered | {"/policies/{group}"}
    assert any(isinstance(r, Mount) for r in ROUTES)
    assert PUBLIC == {"/login", "/setup", "/family/setup", "/review", "/report", "/-/health"}


@pytest.mark.parametrize("role", ROLES)
def test_get_access(dash: Dash, role: str | None) -> None:
    client = dash.client(role)
    for path, allowed in GET_ACCESS.items():
        r = client.get(path)
        if role is None:
            assert r.status_code == 303 and "/login" in r.headers["location"], path
        elif role in allowed:
            assert r.status_code == 200, (path, role, r.status_code)
        else:
            assert r.status_code == 403, (path, role, r.status_code)
    for path in PUBLIC_GET:
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("role", ROLES)
def test_post_access(dash: Dash, role: str | None) -> None:
    client = dash.client(role)
    o = overrides_store.add(dash.settings.db_path, "focus", "grade-3", ["x.test"], 30, "admin")
    posts = {
        "/policies/grade-7": ({"allow": "wiki.test"}, {"admin", "teacher"}),
        "/policies/grade-3": ({"allow": "wiki.test"}, {"admin"}),
        "/focus": ({"group": "grade-7", "sites": "a.test", "minutes": "10"}, {"admin", "teacher"}),
        f"/focus/{o.id}/stop": ({}, {"admin"}),  # grade-3 belongs to another teacher
        "/users": ({"name": f"new-{role}", "password": "x" * 12, "role": "teacher"}, {"admin"}),
        "/users/teacher2/disable": ({}, {"admin"}),
        "/reports/999": ({"status": "forwarded"}, {"admin"}),
        "/family/pause": ({}, {"admin"}),
    }
    for path, (data, allowed) in posts.items():
        r = client.post(path, data=data)
        if role is None:
            assert r.status_code == 303 and "/login" in r.headers["location"], path
        elif role in allowed:
            assert r.status_code in (200, 303, 400, 404), (path, role, r.status_code)
        else:
            assert r.status_code == 403, (path, role, r.status_code)


def test_security_headers_and_cookies(dash: Dash) -> None:
    client = dash.client()
    r = client.post("/login", data={"name": "admin", "password": "correct horse battery"})
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "<script" not in page.text and "style=" not in page.text


def test_cross_site_posts_are_refused(dash: Dash) -> None:
    client = dash.client("admin")
    r = client.post("/users", data={"name": "evil", "password": "x" * 12, "role": "admin"},
                    headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403
    client.headers.pop("Sec-Fetch-Site")
    assert client.post("/logout", headers={"Origin": "http://evil.test"}).status_code == 403
    assert client.post("/logout", headers={"Origin": "http://dash.test"}).status_code == 303


def test_errors_show_no_internals(dash: Dash) -> None:
    client = dash.client("admin")
    r = client.get("/no-such-page")
    assert r.status_code == 404 and "Traceback" not in r.text
    assert client.get("/-/nothing").status_code == 404
