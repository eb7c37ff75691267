"""/-/health: is the dashboard up, can it read the store, is the proxy writing."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dashboard import queries
from dashboard.web import state


def health(request: Request) -> Response:
    try:
        proxy = queries.proxy_status(state(request).db)
    except Exception:
        return JSONResponse({"ok": False, "error": "store unreadable", "status": 503}, status_code=503)
    return JSONResponse({"ok": True, "dashboard": "up", "proxy": "up" if proxy["up"] else "down"})
