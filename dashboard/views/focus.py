"""Focus mode and overrides: a teacher restricts a grade or class to chosen
sites for a lesson, or stops an override; they apply within seconds."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from addons.infra import overrides_store
from dashboard import actions
from dashboard.errors import Forbidden
from dashboard.views.policies import editable_groups
from dashboard.web import form, lines, redirect, render, require, state


def page(request: Request, error: str | None = None, status: int = 200) -> Response:
    user = require(request, "admin", "teacher")
    items = [o for o in overrides_store.active(state(request).db) if user.may_see(o.group)]
    return render(request, "focus.html", status=status, items=items, groups=editable_groups(request, user),
                  error=error, tz=state(request).tz)


async def start(request: Request) -> Response:
    user = require(request, "admin", "teacher")
    data = await form(request)
    group = str(data.get("group", ""))
    if group not in editable_groups(request, user):
        raise Forbidden()
    try:
        minutes = float(str(data.get("minutes") or 45))
        actions.start_focus(state(request).db, user, group, lines(data.get("sites", "")), minutes,
                            str(data.get("note", "")))
    except ValueError as e:
        return page(request, str(e), 400)
    return redirect("/focus")


async def stop(request: Request) -> Response:
    user = require(request, "admin", "teacher")
    oid = int(request.path_params["oid"])
    mine = [o for o in overrides_store.active(state(request).db) if o.id == oid]
    if not mine or not user.may_see(mine[0].group):
        raise Forbidden()
    actions.stop_override(state(request).db, user, oid)
    return redirect("/focus")
