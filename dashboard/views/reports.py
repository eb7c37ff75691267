"""The single reporting point for harmful content (from the block page and the
onboarding site): a public form and the inbox where reports are marked forwarded
to the authorities."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from dashboard import actions, queries
from dashboard.errors import BadRequest, NotFound
from dashboard.views.reviews import _limit
from dashboard.web import form, redirect, render, require, state

KINDS = ("sexual_abuse", "violence", "bullying", "self_harm", "scam", "other")


def form_page(request: Request) -> Response:
    return render(request, "report_form.html", kinds=KINDS, url=request.query_params.get("url", ""),
                  group=request.query_params.get("group", ""))


async def submit(request: Request) -> Response:
    data = await form(request)
    _limit(request)
    kind = str(data.get("kind", "other"))
    try:
        rid = actions.create_report(state(request).db, str(data.get("url", "")),
                                    kind if kind in KINDS else "other", str(data.get("description", "")),
                                    str(data.get("group", "")))
    except actions.ActionError as e:
        return render(request, "report_form.html", status=400, kinds=KINDS, error=str(e), url=data.get("url", ""),
                      group=data.get("group", ""))
    return render(request, "report_sent.html", rid=rid)


def inbox(request: Request) -> Response:
    require(request, "admin")
    return render(request, "reports.html", items=queries.reports(state(request).db))


async def handle(request: Request) -> Response:
    user = require(request, "admin")
    data = await form(request)
    try:
        actions.handle_report(state(request).db, int(request.path_params["rid"]), str(data.get("status", "")), user)
    except actions.ActionError as e:
        raise (NotFound() if str(e) == "error_not_found" else BadRequest()) from None
    return redirect("/reports")
