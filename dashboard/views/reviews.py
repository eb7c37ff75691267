"""Review requests: the block page's form (no login) and the inbox where a
teacher approves (an allow rule for that grade with an expiry) or declines."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from dashboard import actions, queries
from dashboard.errors import Forbidden, NotFound, TooMany
from dashboard.views.home import scope
from dashboard.web import form, redirect, render, require, state

PUBLIC_LIMIT = 10  # requests per address per 10 minutes


def _limit(request: Request) -> None:
    st = state(request)
    key = f"review|{request.client.host if request.client else '-'}"
    now = time.time()
    recent = [t for t in st.failures.get(key, []) if now - t < 600]
    if len(recent) >= PUBLIC_LIMIT:
        raise TooMany()
    st.failures[key] = recent + [now]


def form_page(request: Request) -> Response:
    q = request.query_params
    return render(request, "review_form.html", host=q.get("host", ""), reason=q.get("reason", ""),
                  category=q.get("category", ""), group=q.get("group", ""))


async def submit(request: Request) -> Response:
    data = await form(request)
    _limit(request)
    try:
        rid = actions.create_review(state(request).db, str(data.get("host", "")), str(data.get("group", "")),
                                    str(data.get("reason", "")), str(data.get("category", "")),
                                    str(data.get("note", "")))
    except actions.ActionError as e:
        return render(request, "review_form.html", status=400, error=str(e), host=data.get("host", ""),
                      reason=data.get("reason", ""), category=data.get("category", ""), group=data.get("group", ""))
    return render(request, "review_sent.html", rid=rid)


def inbox(request: Request) -> Response:
    user = require(request, "admin", "teacher")
    items = queries.reviews(state(request).db, scope(user))
    return render(request, "reviews.html", items=items)


async def decide(request: Request) -> Response:
    user = require(request, "admin", "teacher")
    rid = int(request.path_params["rid"])
    item = queries.review(state(request).db, rid)
    if item is None:
        raise NotFound()
    if not user.may_see(item["group_id"]):
        raise Forbidden()
    data = await form(request)
    approve = data.get("decision") == "approve"
    days = max(1, min(365, int(str(data.get("days") or 30)))) if str(data.get("days") or "30").isdigit() else 30
    try:
        actions.decide_review(state(request).db, rid, approve, user, days)
    except actions.ActionError as e:
        return render(request, "reviews.html", status=400, items=queries.reviews(state(request).db, scope(user)),
                      error=str(e))
    return redirect("/reviews")
