"""Admin pages: users, list sources, the audit log with one-click revert."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from addons.infra import accounts, sources
from dashboard import actions, queries
from dashboard.web import form, redirect, render, require, state


def users(request: Request, error: str | None = None, status: int = 200) -> Response:
    require(request, "admin")
    snapshot = request.app.state.snapshot()
    return render(request, "users.html", status=status, items=accounts.users(state(request).db), error=error,
                  groups=sorted(snapshot.policy.groups) if snapshot else [])


async def add_user(request: Request) -> Response:
    admin = require(request, "admin")
    data = await form(request)
    groups = data.get("groups") or []
    groups = [groups] if isinstance(groups, str) else list(groups)
    try:
        user = accounts.add_user(state(request).db, str(data.get("name", "")), str(data.get("password", "")),
                                 str(data.get("role", "")), groups, data.get("safeguarding") == "on",
                                 str(data.get("language", "vi")))
    except accounts.AccountError as e:
        return users(request, str(e), 400)
    actions.record(state(request).db, admin.name, "user_added", user.name, None,
                   f"{user.role} {', '.join(user.groups)}")
    return redirect("/users")


async def disable_user(request: Request) -> Response:
    admin = require(request, "admin")
    name = request.path_params["name"]
    try:
        accounts.disable_user(state(request).db, name)
    except accounts.AccountError as e:
        return users(request, str(e), 404)
    actions.record(state(request).db, admin.name, "user_disabled", name, None, None)
    return redirect("/users")


def lists(request: Request) -> Response:
    require(request, "admin")
    snapshot = request.app.state.snapshot()
    st = state(request)
    items = [(s, sources.read_status(st.settings, s.name)) for s in snapshot.sources] if snapshot else []
    local = getattr(snapshot.lists, "sources", []) if snapshot else []
    return render(request, "lists.html", items=items, local=local, tz=st.tz)


def audit(request: Request, error: str | None = None, status: int = 200) -> Response:
    require(request, "admin")
    return render(request, "audit.html", status=status, items=queries.audit(state(request).db), error=error,
                  tz=state(request).tz)


async def revert(request: Request) -> Response:
    user = require(request, "admin")
    try:
        actions.revert(state(request).settings, int(request.path_params["aid"]), user)
    except actions.ActionError as e:
        return audit(request, str(e), 400)
    request.app.state.invalidate()
    return redirect("/audit")
