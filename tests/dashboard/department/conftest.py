"""Department server tests: the store on SQLite and on a real PostgreSQL server,
the app in-process, and exports made by the schools' real export code."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from addons.core.export import ExportInput, build_export, encode
from addons.core.settings import Settings
from addons.infra import accounts, signing
from dashboard.department.app import create_department_app
from dashboard.department.store import DepartmentStore
from tests.helpers.postgres import PostgresServer
from tests.helpers.trees import SHIPPED_BLOCKLISTS

VN = ZoneInfo("Asia/Ho_Chi_Minh")
PASSWORD = "correct horse battery"
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}
_names = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "department.db")
    pg: PostgresServer = request.getfixturevalue("postgres")
    return pg.create_database(f"dept{next(_names)}")


@pytest.fixture
def store(store_url: str) -> Iterator[DepartmentStore]:
    s = DepartmentStore(store_url, VN)
    s.migrate()
    yield s
    s.db.close()


@dataclass
class SchoolKeys:
    school_id: str
    private: str
    public: str


def school_keys(school_id: str) -> SchoolKeys:
    private, public = signing.generate()
    return SchoolKeys(school_id, private, public)


def at(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=VN).timestamp())


def make_export(school_id: str, start: int, counts: list[tuple[str, str, str, int]] | None = None,
                hours: int = 1, **kw: Any) -> dict[str, Any]:
    data = ExportInput(school_id, start, start + hours * 3600, start + hours * 3600 + 60, "0.1.0", "pv1",
                       kw.pop("baseline_version", ""),
                       traffic=counts if counts is not None else [("primary", "games", "block", 10),
                                                                  ("primary", "", "allow", 200)],
                       uptime_seconds=hours * 3600, **kw)
    return build_export(data, 5)


def signed(keys: SchoolKeys, export: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = encode(export)
    return body, {"X-Schoolgate-School": keys.school_id, "X-Schoolgate-Signature": signing.sign(body, keys.private),
                  "Content-Type": "application/json"}


# The department's clock in these tests: a fixed instant, never the machine's date.
# A test may ask for others with @pytest.mark.parametrize("now", [...], indirect=True).
DEFAULT_NOW = "2026-11-23T10:30"


@pytest.fixture
def now(request: pytest.FixtureRequest) -> int:
    return at(getattr(request, "param", DEFAULT_NOW))


@dataclass
class Dept:
    settings: Settings
    store: DepartmentStore
    app: Any
    now: int  # the department server's clock (unix seconds)

    def client(self, role: str | None = None) -> TestClient:
        c = TestClient(self.app, base_url="https://dept.test", follow_redirects=False)
        if role:
            c.headers.update(SAME_ORIGIN)
            r = c.post("/login", data={"name": role, "password": PASSWORD})
            assert r.status_code == 303, r.text
        return c


@pytest.fixture
def dept(tmp_path: Path, store_url: str, now: int) -> Iterator[Dept]:
    settings = Settings(data_dir=str(tmp_path / "dept"), department_db=store_url, department_max_body=50_000,
                        blocklists_dir=str(SHIPPED_BLOCKLISTS))
    settings.data_path.mkdir(parents=True)
    store = DepartmentStore(settings.department_store, settings.zone)
    store.migrate()
    app = create_department_app(settings, store, setup_token="dept-setup", clock=lambda: float(now))
    accounts.add_user(settings.db_path, "admin", PASSWORD, "admin")
    accounts.add_user(settings.db_path, "viewer", PASSWORD, "department")
    accounts.add_user(settings.db_path, "teacher", PASSWORD, "teacher")
    yield Dept(settings, store, app, now)
    store.db.close()
