"""Read-only aggregated figures for department staff: counts per level, category
and action over 30 days, with cells under the minimum count suppressed (the
same export_min_cell the school's exports to the department use)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dashboard import queries
from dashboard.web import render, require, state


def page(request: Request) -> Response:
    require(request, "admin", "department")
    figures = queries.department_figures(state(request).db, state(request).tz, 30,
                                         state(request).settings.export_min_cell)
    if request.query_params.get("format") == "json":
        return JSONResponse({"ok": True, "data": figures})
    return render(request, "department.html", figures=figures)
