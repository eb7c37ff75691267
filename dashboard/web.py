"""What every view needs: the app's state, the signed-in user, the language,
rendering templates, reading forms."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from addons.core.i18n import Catalog
from addons.core.settings import Settings
from addons.infra import accounts
from dashboard.errors import Forbidden, LoginRequired

HERE = Path(__file__).parent
COOKIE = "sg_session"
LANG_COOKIE = "sg_lang"


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))

    def when(ts: float | None, tz: ZoneInfo, fmt: str = "%d/%m/%Y %H:%M") -> str:
        return datetime.fromtimestamp(ts, tz).strftime(fmt) if ts else "—"

    templates.env.filters["datetime"] = when
    templates.env.filters["hhmm"] = lambda ts, tz: when(ts, tz, "%H:%M")
    return templates


def load_catalog() -> Catalog:
    return Catalog({lang: json.loads((HERE / "locales" / f"{lang}.json").read_text("utf-8")) for lang in ("vi", "en")})


@dataclass
class State:
    settings: Settings
    catalog: Catalog = field(default_factory=load_catalog)
    templates: Jinja2Templates = field(default_factory=_templates)
    setup_token: str = ""  # one-time link for the first admin, while there is no user
    failures: dict[str, list[float]] = field(default_factory=dict)  # login throttling (memory only)
    department: bool = False  # the department server (its own navigation), not a school's dashboard
    clock: Callable[[], float] = time.time  # unix seconds; tests pass a fixed clock

    def today(self) -> date:
        return datetime.fromtimestamp(self.clock(), self.tz).date()

    @property
    def db(self) -> Path:
        return self.settings.db_path

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.zone


def state(request: Request) -> State:
    return request.app.state.sg  # type: ignore[no-any-return]


def current_user(request: Request) -> accounts.User | None:
    cached = request.scope.get("sg_user", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    user = accounts.session_user(state(request).db, request.cookies.get(COOKIE, ""))
    request.scope["sg_user"] = user
    return user


def require(request: Request, *roles: str) -> accounts.User:
    user = current_user(request)
    if user is None:
        raise LoginRequired()
    if roles and user.role not in roles:
        raise Forbidden()
    return user


def language(request: Request) -> str:
    wanted = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if wanted in ("vi", "en"):
        return wanted
    user = current_user(request)
    return user.language if user else state(request).settings.language


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    st = state(request)
    lang = language(request)
    response = st.templates.TemplateResponse(request, template, {
        "t": lambda key, **kw: st.catalog.t(lang, key, **kw), "lang": lang, "user": current_user(request),
        "school": st.settings.school_name, "path": request.url.path, "department": st.department, **context},
        status_code=status)
    if request.query_params.get("lang") in ("vi", "en"):
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, httponly=True, samesite="strict")
    return response


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def form(request: Request) -> dict[str, Any]:
    data = await request.form()
    return {k: data.getlist(k) if len(data.getlist(k)) > 1 else data.get(k) for k in data.keys()}


def lines(value: Any) -> list[str]:
    """A textarea of sites, one per line (commas and spaces also separate)."""
    text = value if isinstance(value, str) else "\n".join(value or [])
    return [x for x in text.replace(",", "\n").replace(" ", "\n").splitlines() if x.strip()]


def set_session(response: Response, token: str, request: Request) -> None:
    response.set_cookie(COOKIE, token, max_age=accounts.SESSION_SECONDS, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
