"""Blocked requests (admin) and safeguarding alerts (admin and designated teachers
for their grades). Devices appear only as rotating pseudonyms."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from dashboard import queries
from dashboard.errors import Forbidden
from dashboard.views.home import scope
from dashboard.web import render, require, state


def alerts(request: Request) -> Response:
    user = require(request, "admin", "teacher")
    if user.role == "teacher" and not user.safeguarding:
        raise Forbidden()
    items = queries.incidents(state(request).db, scope(user), ("alert",))
    return render(request, "incidents.html", items=items, title_key="nav_alerts", tz=state(request).tz)


def blocks(request: Request) -> Response:
    require(request, "admin")
    items = queries.incidents(state(request).db, None, ("block", "override", "policy_change"))
    return render(request, "incidents.html", items=items, title_key="nav_incidents", tz=state(request).tz)
