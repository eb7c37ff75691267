"""The department server's Starlette app: the receiver API, the published lists,
and the department's pages behind sign-in (accounts as in the school dashboard,
kept in the department's own data directory)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from addons.core.categories import Categories
from addons.core.errors import Collector
from addons.core.settings import Settings
from addons.infra.loader import load_categories
from addons.infra.store import migrate
from dashboard.app import SecurityHeaders, http_error, server_error
from dashboard.department import receiver, views
from dashboard.department.store import DepartmentStore
from dashboard.errors import HTTPError
from dashboard.views import auth
from dashboard.web import HERE, State

logger = logging.getLogger("department")

ROUTES = [
    Route("/", views.overview),
    Route("/schools", views.schools),
    Route("/yearly", views.yearly),
    Route("/authority", views.authority),
    Route("/login", auth.login_page, methods=["GET"]),
    Route("/login", auth.login, methods=["POST"]),
    Route("/logout", auth.logout, methods=["POST"]),
    Route("/setup", auth.setup_page, methods=["GET"]),
    Route("/setup", auth.setup, methods=["POST"]),
    Route("/api/v1/exports", receiver.receive_export, methods=["POST"]),
    Route("/api/v1/authority-reports", receiver.receive_authority, methods=["POST"]),
    Route("/lists/{name}", views.published),
    Route("/-/health", views.health),
    Mount("/-/static", StaticFiles(directory=str(HERE / "static")), name="static"),
]


class DepartmentHeaders(SecurityHeaders):
    csrf_exempt = ("/api/",)  # schools' reports carry no cookie: each is verified by its signature


def load_department_categories(settings: Settings) -> Categories | None:
    errors = Collector()
    categories, _ = load_categories(settings, errors)
    if errors.errors:
        logger.warning("Categories not loaded (%s); baselines cannot be checked.", errors.errors[0])
        return None
    return categories


def create_department_app(settings: Settings, store: DepartmentStore, setup_token: str = "",
                          clock: Callable[[], float] = time.time) -> Starlette:
    migrate(settings.db_path)  # the department's accounts (users, sessions)
    app = Starlette(routes=ROUTES, middleware=[Middleware(DepartmentHeaders)],
                    exception_handlers={HTTPError: http_error, 500: server_error})
    app.state.sg = State(settings, setup_token=setup_token, department=True, clock=clock)
    app.state.store = store
    app.state.categories = load_department_categories(settings)
    return app
