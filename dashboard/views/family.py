"""Home gateway: the parent's first-run setup (password → child → devices → rules),
the family page (pause, resume, 30 more minutes, today's use) and the weekly summary.
Changes land in the store and the proxy applies them within seconds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from addons.core.home import LEVELS, WHOLE_HOME
from addons.core.services import EMPTY, Services
from addons.infra import accounts, home_store
from addons.infra.clock import from_env
from dashboard import family
from dashboard.errors import NotFound
from dashboard.web import form, language, redirect, render, require, set_session, state

PARENT = "parent"
ROLES = ("parent", "admin")
EXTEND_MINUTES = 30
CLOCK = from_env()  # the system clock (a test clock only under SCHOOLGATE_TEST_CLOCK)
# A new child's rules start from these; the parent changes or clears them.
STARTER = {"rules": {"games": {"limit": 60}},
           "bedtime": [{"days": "daily", "from": "21:30", "to": "06:30"}],
           "homework": [{"days": "mon-fri", "from": "19:00", "to": "20:30"}]}


def _services(request: Request) -> Services:
    snapshot = request.app.state.snapshot()
    return snapshot.services if snapshot else EMPTY


def _now(request: Request) -> datetime:
    return datetime.fromtimestamp(CLOCK(), state(request).tz)


def first_run(request: Request) -> bool:
    st = state(request)
    return st.settings.profile == "home" and accounts.count_users(st.db) == 0


# ----------------------------------------------------------------------------- setup


def setup_page(request: Request) -> Response:
    if not first_run(request):
        return redirect("/family")
    return render(request, "family_setup.html")


async def setup(request: Request) -> Response:
    if not first_run(request):
        raise NotFound()
    st = state(request)
    data = await form(request)
    password = str(data.get("password", ""))
    if password != str(data.get("password2", "")):
        return render(request, "family_setup.html", status=400, error="family_password_mismatch")
    try:
        user = accounts.add_user(st.db, PARENT, password, PARENT, language=language(request))
    except accounts.AccountError:
        return render(request, "family_setup.html", status=400, error="family_password_short")
    response = redirect("/family/child/new?setup=1")
    set_session(response, accounts.new_session(st.db, user), request)
    return response


# ----------------------------------------------------------------------------- family page


def page(request: Request) -> Response:
    require(request, *ROLES)
    st = state(request)
    services = _services(request)
    home, _ = family.current(st.db, services)
    now = _now(request)
    items = family.statuses(st.db, home, services, now)
    whole = any(s.whole_home_paused for s in items)
    done = request.query_params.get("done")
    return render(request, "family.html", items=items, services=services, whole_paused=whole,
                  done=home.children.get(done or ""), tz=st.tz)


def _child_or_404(request: Request) -> tuple[str, dict[str, Any], dict[str, Any]]:
    cid = str(request.path_params["cid"])
    _, data = family.current(state(request).db, _services(request))
    child = family.child_data(data, cid)
    if child is None:
        raise NotFound()
    return cid, child, data


def _save(request: Request, data: dict[str, Any], user: accounts.User) -> list[str]:
    try:
        family.save(state(request).db, data, _services(request), user.name, CLOCK())
    except family.HomeError as e:
        return e.problems
    return []


def child_page(request: Request) -> Response:
    require(request, *ROLES)
    child: dict[str, Any] = {"name": "", "age": None, "level": ""}
    if "cid" in request.path_params:
        _, child, _ = _child_or_404(request)
    return render(request, "family_child.html", child=child, levels=LEVELS,
                  setup=bool(request.query_params.get("setup")))


async def child_save(request: Request) -> Response:
    user = require(request, *ROLES)
    st = state(request)
    services = _services(request)
    home, data = family.current(st.db, services)
    values = await form(request)
    if "cid" in request.path_params:
        cid, child, data = _child_or_404(request)
    else:
        cid, child = family.new_child_id(home), {"devices": [], **STARTER}
    child = {**child, "id": cid, "name": str(values.get("name", "")).strip()}
    age = str(values.get("age", "")).strip()
    child.pop("age", None)
    if age.isdigit():
        child["age"] = int(age)
        child.pop("level", None)
    if values.get("level") in LEVELS and not age:
        child["level"] = values["level"]
    if "age" not in child and "level" not in child:
        child["level"] = "primary"
    setup = bool(values.get("setup"))
    problems = _save(request, family.update_child(data, child), user)
    if problems:
        return render(request, "family_child.html", status=400, child=child, levels=LEVELS, setup=setup,
                      problems=problems)
    return redirect(f"/family/child/{cid}/devices" + ("?setup=1" if setup else ""))


def devices_page(request: Request, problems: list[str] | None = None, status: int = 200) -> Response:
    require(request, *ROLES)
    st = state(request)
    cid, child, data = _child_or_404(request)
    owners = {d: c["name"] for c in data["children"] for d in c.get("devices", []) if c["id"] != cid}
    since = CLOCK() - st.settings.client_address_retention_days * 86400
    seen = [(a, ts, owners.get(a)) for a, ts in home_store.seen_devices(st.db, since)]
    return render(request, "family_devices.html", status=status, child=child, seen=seen, tz=st.tz,
                  setup=bool(request.query_params.get("setup")), problems=problems or [])


async def devices_save(request: Request) -> Response:
    user = require(request, *ROLES)
    cid, child, data = _child_or_404(request)
    values = await form(request)
    picked = values.get("device") or []
    picked = [picked] if isinstance(picked, str) else list(picked)
    typed = [x.strip() for x in str(values.get("typed", "")).replace(",", " ").split() if x.strip()]
    child["devices"] = list(dict.fromkeys(picked + typed))
    problems = _save(request, family.update_child(data, child), user)
    setup = "?setup=1" if values.get("setup") else ""
    if problems:
        return devices_page(request, problems, 400)
    return redirect(f"/family/child/{cid}/rules{setup}")


def rules_page(request: Request, problems: list[str] | None = None, status: int = 200) -> Response:
    require(request, *ROLES)
    _, child, _ = _child_or_404(request)
    services = _services(request)
    return render(request, "family_rules.html", status=status, child=child, services=list(services),
                  groups=[g for g in services.groups.values()  # a daily time for apps, not for unsuitable content
                          if any(s.group == g.id and s.category is None for s in services)], day_choices=family.DAY_CHOICES,
                  setup=bool(request.query_params.get("setup")), problems=problems or [])


def _minutes(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


async def rules_save(request: Request) -> Response:
    user = require(request, *ROLES)
    cid, child, data = _child_or_404(request)
    services = _services(request)
    v = await form(request)
    rules: dict[str, Any] = {}
    for s in services:
        choice = v.get(f"svc_{s.id}", "allow")
        if choice == "block":
            rules[s.id] = "block"
        elif choice == "limit":
            rules[s.id] = {"limit": _minutes(v.get(f"min_{s.id}")) or 60}
    for g in services.groups:
        rule: dict[str, Any] = {}
        if (m := _minutes(v.get(f"grp_{g}"))) is not None:
            rule["limit"] = m
        hours = family.window("daily", str(v.get(f"grpfrom_{g}", "")), str(v.get(f"grpto_{g}", "")))
        if hours:
            rule["hours"] = hours
        if rule:
            rules[g] = rule
    child["rules"] = rules
    child["bedtime"] = family.window(str(v.get("bed_days", "")), str(v.get("bed_from", "")), str(v.get("bed_to", "")))
    child["homework"] = family.window(str(v.get("hw_days", "")), str(v.get("hw_from", "")), str(v.get("hw_to", "")))
    problems = _save(request, family.update_child(data, child), user)
    if problems:
        return rules_page(request, problems, 400)
    return redirect(f"/family?done={cid}" if v.get("setup") else "/family")


# ----------------------------------------------------------------------------- pause, resume, more time


async def control(request: Request) -> Response:
    user = require(request, *ROLES)
    st = state(request)
    action = request.path_params["action"]
    who = WHOLE_HOME
    if "cid" in request.path_params:
        who = _child_or_404(request)[0]
    now = CLOCK()
    if action == "pause":
        home_store.add_control(st.db, "pause", who, None, user.name, now)
    elif action == "resume":
        home_store.end_controls(st.db, "pause", who, now)
    elif action == "extend":
        home_store.add_control(st.db, "extend", who, EXTEND_MINUTES, user.name, now)
    else:
        raise NotFound()
    return redirect("/family")


# ----------------------------------------------------------------------------- weekly summary


def summary(request: Request) -> Response:
    require(request, *ROLES)
    st = state(request)
    services = _services(request)
    home, _ = family.current(st.db, services)
    week = family.week(st.db, _now(request).date())
    if request.query_params.get("format") == "csv":
        return Response(family.summary_csv(week, home), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="family-week-{week.days[-1]}.csv"'})
    snapshot = request.app.state.snapshot()
    categories = {c.id: c for c in snapshot.categories} if snapshot else {}
    return render(request, "family_summary.html", week=week, home=home, services=services, categories=categories,
                  keep_days=st.settings.home_history_days)
