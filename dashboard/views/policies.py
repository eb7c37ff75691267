"""Policy editing with forms: a teacher changes the allowed and denied sites and
the closed hours of their own grades or classes; the change is validated by the
same core as `schoolgate check`, saved to the user's generated file and applied
by the running proxy within seconds."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from dashboard import actions
from dashboard.errors import Forbidden, NotFound
from dashboard.web import form, lines, redirect, render, require, state


def editable_groups(request: Request, user) -> list[str]:  # type: ignore[no-untyped-def]
    snapshot = request.app.state.snapshot()
    if snapshot is None:
        return []
    if user.role == "admin":
        return sorted(snapshot.policy.groups)
    return [g for g in user.groups if g in snapshot.policy.groups]


def index(request: Request) -> Response:
    user = require(request, "admin", "teacher")
    return render(request, "policies.html", groups=editable_groups(request, user),
                  snapshot=request.app.state.snapshot())


def _group(request: Request, user) -> str:  # type: ignore[no-untyped-def]
    group = request.path_params["group"]
    if group not in editable_groups(request, user):
        raise Forbidden() if request.app.state.snapshot() and group in request.app.state.snapshot().policy.groups \
            else NotFound()
    return group


def edit_page(request: Request) -> Response:
    user = require(request, "admin", "teacher")
    group = _group(request, user)
    current = actions.current_overlay(state(request).settings, user.name, group)
    return render(request, "policy_edit.html", group=group, form=current, errors={},
                  snapshot=request.app.state.snapshot(), saved=request.query_params.get("saved"))


async def save(request: Request) -> Response:
    user = require(request, "admin", "teacher")
    group = _group(request, user)
    data = await form(request)
    overlay = actions.OverlayForm(lines(data.get("allow", "")), lines(data.get("deny", "")),
                                  str(data.get("closed_during", "")))
    result = actions.save_overlay(state(request).settings, user, group, overlay)
    if not result.ok:
        return render(request, "policy_edit.html", status=400, group=group, form=overlay, errors=result.errors,
                      snapshot=request.app.state.snapshot(), saved=None)
    request.app.state.invalidate()
    return redirect(f"/policies/{group}?saved=1")
