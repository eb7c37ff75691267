"""The department's pages: the overview of many schools (totals and trends by
province, district, school level and category), the schools that stopped
reporting or run stale lists, the yearly report (printable, Vietnamese first,
and CSV), authority reports, and the published lists. Aggregates only: the
department never sees a child, a device or a site a child visited."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from addons.core.export import LEVELS
from dashboard.charts import bars
from dashboard.department.publish import NAME, publish_dir
from dashboard.department.store import DepartmentStore
from dashboard.errors import NotFound
from dashboard.web import render, require, state

LEVEL_NAMES = {
    "preschool": ("Mầm non", "Preschool"),
    "primary": ("Tiểu học", "Primary"),
    "lower-secondary": ("Trung học cơ sở", "Lower secondary"),
    "upper-secondary": ("Trung học phổ thông", "Upper secondary"),
    "other": ("Nhân viên, khách, khác", "Staff, guests, other"),
}


def _store(request: Request) -> DepartmentStore:
    return request.app.state.store  # type: ignore[no-any-return]


def _day(text: str | None, default: date) -> date:
    try:
        return date.fromisoformat(text) if text else default
    except ValueError:
        return default


def _filters(request: Request, days: int = 30) -> dict[str, Any]:
    q = request.query_params
    today = state(request).today()
    end = _day(q.get("to"), today)
    start = _day(q.get("from"), end - timedelta(days=days - 1))
    level = q.get("level", "")
    return {"province": q.get("province", ""), "district": q.get("district", "") if q.get("province") else "",
            "level": level if level in LEVELS else "", "start": min(start, end), "end": end}


def reporting_year_of(day: date) -> tuple[date, date]:
    """The reporting year (1 December to 30 November) that `day` belongs to."""
    first = day.year if day.month == 12 else day.year - 1
    return date(first, 12, 1), date(first + 1, 11, 30)


def school_year(today: date) -> tuple[date, date]:
    """The reporting year the yearly report shows by default: the one due next. The
    report is filed before 10 December, so in December it is the year that has just
    ended; from January on, the year in progress."""
    return reporting_year_of(date(today.year, 11, 30) if today.month == 12 else today)


def _category_names(request: Request) -> dict[str, tuple[str, str]]:
    cats = request.app.state.categories
    names = {c.id: (c.name_vi, c.name_en) for c in cats} if cats else {}
    names["uncategorised"] = ("Không thuộc loại nào", "No category")
    return names


async def overview(request: Request) -> Response:
    require(request, "admin", "department")
    f = _filters(request)
    store = _store(request)
    st = state(request)
    area = {k: f[k] for k in ("province", "district", "level")}

    def load() -> dict[str, Any]:
        now = int(st.clock())
        schools = store.school_rows(f["start"], f["end"], now, province=f["province"], district=f["district"],
                                    stale_hours=st.settings.department_stale_hours,
                                    stale_list_days=st.settings.department_stale_list_days)
        return {
            "totals": store.totals(f["start"], f["end"], **area),
            "levels": store.by_level(f["start"], f["end"], **area),
            "trend": store.trend(f["start"], f["end"], **area),
            "provinces": store.by_province(f["start"], f["end"], f["level"]) if not f["province"] else {},
            "areas": store.provinces(),
            "schools": schools,
            "baselines": store.baselines(),
        }

    data = await run_in_threadpool(load)
    categories = sorted({c for c, _ in data["totals"]}, key=lambda c: -data["totals"].get((c, "block"), 0))
    schools = data["schools"]
    summary = {"schools": len(schools), "not_reporting": sum(s["not_reporting"] for s in schools),
               "stale_lists": sum(s["stale_lists"] for s in schools),
               "blocked": sum(n for (_, a), n in data["totals"].items() if a == "block"),
               "allowed": sum(n for (_, a), n in data["totals"].items() if a == "allow")}
    if request.query_params.get("format") == "json":
        return JSONResponse({"ok": True, "filters": {**area, "from": f["start"].isoformat(),
                                                     "to": f["end"].isoformat()}, "summary": summary,
                             "categories": [{"category": c, "block": data["totals"].get((c, "block"), 0),
                                             "allow": data["totals"].get((c, "allow"), 0)} for c in categories],
                             "trend": data["trend"], "baselines": data["baselines"]})
    return render(request, "dept_overview.html", f=f, data=data, categories=categories, summary=summary,
                  chart=bars([(d[5:], n) for d, n in data["trend"][-31:]]), levels=LEVELS,
                  level_names=LEVEL_NAMES, names=_category_names(request))


async def schools(request: Request) -> Response:
    require(request, "admin", "department")
    f = _filters(request)
    st = state(request)
    rows = await run_in_threadpool(
        _store(request).school_rows, f["start"], f["end"], int(st.clock()), province=f["province"],
        district=f["district"], stale_hours=st.settings.department_stale_hours,
        stale_list_days=st.settings.department_stale_list_days)
    if request.query_params.get("only") == "problems":
        rows = [r for r in rows if r["not_reporting"] or r["stale_lists"]]
    if request.query_params.get("format") == "json":
        return JSONResponse({"ok": True, "schools": rows})
    return render(request, "dept_schools.html", f=f, rows=rows, tz=st.tz, now=int(st.clock()))


def _yearly_data(request: Request) -> tuple[date, date, dict[str, Any]]:
    q = request.query_params
    default_start, default_end = school_year(state(request).today())
    start, end = _day(q.get("from"), default_start), _day(q.get("to"), default_end)
    data = _store(request).yearly(min(start, end), end, province=q.get("province", ""),
                                  district=q.get("district", "") if q.get("province") else "")
    return min(start, end), end, data


def _yearly_tables(data: dict[str, Any]) -> dict[str, Any]:
    by_province: dict[str, dict[str, int]] = {}
    by_level: dict[str, dict[str, int]] = {}
    by_category: dict[str, dict[str, int]] = {}
    for province, level, category, action, n in data["cells"]:
        for table, key in ((by_province, province), (by_level, level), (by_category, category)):
            row = table.setdefault(key, {"block": 0, "allow": 0})
            row[action] = row.get(action, 0) + n
    events: dict[str, dict[str, int]] = {}
    for kind, name, n in data["events"]:
        events.setdefault(kind, {})[name] = n
    uptime = data["uptime"]
    order = {lv: i for i, lv in enumerate(LEVEL_NAMES)}
    return {"by_province": dict(sorted(by_province.items())),
            "by_level": dict(sorted(by_level.items(), key=lambda kv: order.get(kv[0], len(order)))),
            "by_category": dict(sorted(by_category.items(), key=lambda kv: -kv[1]["block"])),
            "events": events, "uptime_mean": (sum(uptime.values()) / len(uptime)) if uptime else 0.0,
            "uptime_low": sum(1 for v in uptime.values() if v < 0.95)}


async def yearly(request: Request) -> Response:
    require(request, "admin", "department")
    start, end, data = await run_in_threadpool(_yearly_data, request)
    tables = _yearly_tables(data)
    if request.query_params.get("format") == "csv":
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(["section", "key", "blocked", "allowed"])
        for section in ("by_province", "by_level", "by_category"):
            for key, row in tables[section].items():
                w.writerow([section, key, row.get("block", 0), row.get("allow", 0)])
        for kind, rows in tables["events"].items():
            for name, n in sorted(rows.items()):
                w.writerow([kind, name, n, ""])
        w.writerow(["schools", "registered", data["schools"], ""])
        w.writerow(["schools", "reporting", data["reporting"], ""])
        w.writerow(["authority_reports", "received", data["authority_reports"], ""])
        name = f"bao-cao-nam-{start.isoformat()}-{end.isoformat()}.csv"
        return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return render(request, "dept_yearly.html", start=start, end=end, data=data, tables=tables,
                  level_names=LEVEL_NAMES, names=_category_names(request),
                  province=request.query_params.get("province", ""),
                  generated=datetime.fromtimestamp(state(request).clock(), state(request).tz)
                  .strftime("%d/%m/%Y %H:%M"))


async def authority(request: Request) -> Response:
    require(request, "admin")
    rows = await run_in_threadpool(_store(request).authority_reports)
    if request.query_params.get("format") == "json":
        return JSONResponse({"ok": True, "reports": rows})
    return render(request, "dept_authority.html", rows=rows, tz=state(request).tz)


async def published(request: Request) -> Response:
    """A published list or its signature: public, as list sources are (the signature protects it)."""
    name = request.path_params["name"]
    if not NAME.match(name):
        raise NotFound()
    path: Path = publish_dir(state(request).settings) / name
    if not path.is_file():
        raise NotFound()
    media = "application/json" if name.endswith(".json") else "text/plain; charset=utf-8"
    return FileResponse(path, media_type=media, headers={"Cache-Control": "no-cache"})


async def health(request: Request) -> Response:
    try:
        count = await run_in_threadpool(lambda: len(_store(request).schools()))
    except Exception as e:  # noqa: BLE001 - reported, not raised: this is the health check
        return JSONResponse({"ok": False, "error": f"storage unavailable: {type(e).__name__}"}, status_code=503)
    return JSONResponse({"ok": True, "schools": count, "storage": "postgresql" if _store(request).db.postgres
                         else "sqlite"})
