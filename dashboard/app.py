"""create_app(settings): the one route table, the middleware (security headers,
CSRF), and errors handled in one place."""

from __future__ import annotations

import logging
import threading

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from addons.core.errors import ConfigErrors
from addons.core.settings import Settings
from addons.core.snapshot import Snapshot
from addons.infra.files import tree_signature
from addons.infra.loader import load_snapshot
from addons.infra.store import migrate
from dashboard import csrf
from dashboard.errors import Forbidden, HTTPError, LoginRequired
from dashboard.views import (
    admin,
    auth,
    department,
    family,
    focus,
    health,
    home,
    incidents,
    policies,
    reports,
    reviews,
)
from dashboard.web import HERE, State, render

logger = logging.getLogger(__name__)

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")

ROUTES = [
    Route("/", home.home, name="home"),
    Route("/login", auth.login_page, methods=["GET"]),
    Route("/login", auth.login, methods=["POST"]),
    Route("/logout", auth.logout, methods=["POST"]),
    Route("/setup", auth.setup_page, methods=["GET"]),
    Route("/setup", auth.setup, methods=["POST"]),
    Route("/policies", policies.index),
    Route("/policies/{group}", policies.edit_page, methods=["GET"]),
    Route("/policies/{group}", policies.save, methods=["POST"]),
    Route("/review", reviews.form_page, methods=["GET"]),
    Route("/review", reviews.submit, methods=["POST"]),
    Route("/reviews", reviews.inbox),
    Route("/reviews/{rid:int}", reviews.decide, methods=["POST"]),
    Route("/report", reports.form_page, methods=["GET"]),
    Route("/report", reports.submit, methods=["POST"]),
    Route("/reports", reports.inbox),
    Route("/reports/{rid:int}", reports.handle, methods=["POST"]),
    Route("/focus", focus.page, methods=["GET"]),
    Route("/focus", focus.start, methods=["POST"]),
    Route("/focus/{oid:int}/stop", focus.stop, methods=["POST"]),
    Route("/alerts", incidents.alerts),
    Route("/incidents", incidents.blocks),
    Route("/lists", admin.lists),
    Route("/users", admin.users, methods=["GET"]),
    Route("/users", admin.add_user, methods=["POST"]),
    Route("/users/{name}/disable", admin.disable_user, methods=["POST"]),
    Route("/audit", admin.audit),
    Route("/audit/{aid:int}/revert", admin.revert, methods=["POST"]),
    Route("/department", department.page),
    Route("/family", family.page),
    Route("/family/setup", family.setup_page, methods=["GET"]),
    Route("/family/setup", family.setup, methods=["POST"]),
    Route("/family/child/new", family.child_page, methods=["GET"]),
    Route("/family/child/new", family.child_save, methods=["POST"]),
    Route("/family/child/{cid}/edit", family.child_page, methods=["GET"]),
    Route("/family/child/{cid}/edit", family.child_save, methods=["POST"]),
    Route("/family/child/{cid}/devices", family.devices_page, methods=["GET"]),
    Route("/family/child/{cid}/devices", family.devices_save, methods=["POST"]),
    Route("/family/child/{cid}/rules", family.rules_page, methods=["GET"]),
    Route("/family/child/{cid}/rules", family.rules_save, methods=["POST"]),
    Route("/family/child/{cid}/{action}", family.control, methods=["POST"]),
    Route("/family/{action}", family.control, methods=["POST"]),
    Route("/family/summary", family.summary),
    Route("/-/health", health.health),
    Mount("/-/static", StaticFiles(directory=str(HERE / "static")), name="static"),
]

# Routes anyone may use (children's forms, sign-in, health). Every other route checks its roles.
PUBLIC = {"/login", "/setup", "/family/setup", "/review", "/report", "/-/health"}


class SecurityHeaders(BaseHTTPMiddleware):
    csrf_exempt: tuple[str, ...] = ()  # path prefixes authenticated otherwise (signed API requests)

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if not request.url.path.startswith(self.csrf_exempt or ("\0",)) and not csrf.allowed(request):
            response: Response = JSONResponse({"ok": False, "error": "cross-site request refused", "status": 403},
                                              status_code=403)
        else:
            response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Cache-Control", "no-store")
        return response


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPError)
    if isinstance(exc, LoginRequired):
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    if request.url.path.startswith("/-/") or request.query_params.get("format") == "json":
        return JSONResponse({"ok": False, "error": exc.key, "status": exc.status}, status_code=exc.status)
    return render(request, "error.html", status=exc.status, key=exc.key)


async def server_error(request: Request, exc: Exception) -> Response:
    logger.exception("Dashboard error on %s", request.url.path)
    return render(request, "error.html", status=500, key="error_internal")


class SnapshotCache:
    """The policy as the proxy sees it (names, groups, lists), reloaded when files change;
    a broken edit keeps the last good one, like the proxy."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._signature = ""
        self._snapshot: Snapshot | None = None

    def __call__(self) -> Snapshot | None:
        with self._lock:
            sig = tree_signature([self.settings.policies_path, self.settings.blocklists_path])
            if sig != self._signature:
                try:
                    self._snapshot = load_snapshot(self.settings).snapshot
                except ConfigErrors as e:
                    logger.error("The policy has errors; the dashboard shows the last good one:\n%s", e)
                self._signature = sig
            return self._snapshot

    def invalidate(self) -> None:
        with self._lock:
            self._signature = ""


def create_app(settings: Settings, setup_token: str = "") -> Starlette:
    migrate(settings.db_path)
    app = Starlette(routes=ROUTES, middleware=[Middleware(SecurityHeaders)],
                    exception_handlers={HTTPError: http_error, 500: server_error})
    cache = SnapshotCache(settings)
    app.state.sg = State(settings, setup_token=setup_token)
    app.state.snapshot = cache
    app.state.invalidate = cache.invalidate
    return app


__all__ = ["Forbidden", "PUBLIC", "ROUTES", "create_app"]


