"""Dashboard tests: the app in-process (Starlette's TestClient over httpx), with
accounts for every role, against a real SQLite store and the test policy tree."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from starlette.testclient import TestClient

from addons.core.settings import Settings
from addons.infra import accounts
from dashboard.app import create_app

PASSWORD = "correct horse battery"
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


@dataclass
class Dash:
    settings: Settings
    app: object

    def client(self, role: str | None = None) -> TestClient:
        c = TestClient(self.app, base_url="http://dash.test", follow_redirects=False)  # type: ignore[arg-type]
        c.headers.update(SAME_ORIGIN)
        if role:
            r = c.post("/login", data={"name": role, "password": PASSWORD})
            assert r.status_code == 303, r.text
        return c


@pytest.fixture
def dash(settings: Settings) -> Iterator[Dash]:
    settings.data_path.mkdir(parents=True, exist_ok=True)
    db = settings.db_path
    app = create_app(settings, setup_token="first-admin-token")
    accounts.add_user(db, "admin", PASSWORD, "admin")
    accounts.add_user(db, "teacher", PASSWORD, "teacher", ["grade-7"], safeguarding=True)
    accounts.add_user(db, "teacher2", PASSWORD, "teacher", ["grade-3"])
    accounts.add_user(db, "department", PASSWORD, "department")
    yield Dash(settings, app)
