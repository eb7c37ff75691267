"""Home: proxy status, today's counts, pending review requests and alerts, and
charts of blocks per day and per category (aggregates, no browsing history)."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from addons.infra import accounts, sources
from dashboard import queries
from dashboard.charts import bars
from dashboard.web import current_user, language, redirect, render, require, state


def scope(user) -> tuple[str, ...] | None:  # type: ignore[no-untyped-def]
    """The groups whose figures a user sees: all for admin and department staff."""
    return None if user.role in ("admin", "department") else user.groups


def home(request: Request) -> Response:
    st = state(request)
    if st.settings.profile == "home":  # a family's gateway: the parent's pages
        user = current_user(request)
        if user is None or user.role == "parent":
            return redirect("/family" if user else "/family/setup" if not accounts.count_users(st.db) else "/login")
    user = require(request, "admin", "teacher", "department")
    groups = scope(user)
    snapshot = request.app.state.snapshot()
    list_status = [sources.read_status(st.settings, s.name) for s in snapshot.sources] if snapshot else []
    alerts = None
    if user.role == "admin" or (user.role == "teacher" and user.safeguarding):
        alerts = queries.count_incidents(st.db, groups, "alert", int(time.time()) - 7 * 86400)
    pending = len(queries.reviews(st.db, groups, "pending")) if user.role != "department" else None
    per_day = queries.blocks_per_day(st.db, st.tz, groups)
    per_cat = queries.blocks_by_category(st.db, st.tz, groups)
    names = {c.id: c.name(language(request)) for c in snapshot.categories} if snapshot else {}
    return render(request, "home.html", status_info=queries.proxy_status(st.db),
                  counts=queries.today_counts(st.db, st.tz, groups), pending=pending, alerts=alerts,
                  policy_version=snapshot.version if snapshot else None, list_status=list_status,
                  chart_days=bars(per_day), chart_categories=bars([(names.get(c, c or "—"), n) for c, n in per_cat[:10]]),
                  groups=groups)
