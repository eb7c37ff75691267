"""Sign in, sign out, and the one-time setup of the first admin."""

from __future__ import annotations

import hmac
import logging
import time

from starlette.requests import Request
from starlette.responses import Response

from addons.infra import accounts
from dashboard.errors import NotFound, TooMany
from dashboard.web import COOKIE, current_user, form, redirect, render, set_session, state

logger = logging.getLogger(__name__)
WINDOW = 15 * 60
MAX_FAILURES = 5


def login_page(request: Request) -> Response:
    return render(request, "login.html", next=request.query_params.get("next", "/"))


def _throttle_key(request: Request, name: str) -> str:
    return f"{request.client.host if request.client else '-'}|{name.lower()}"


async def login(request: Request) -> Response:
    st = state(request)
    data = await form(request)
    name, password = str(data.get("name", "")), str(data.get("password", ""))
    key = _throttle_key(request, name)
    now = time.time()
    recent = [t for t in st.failures.get(key, []) if now - t < WINDOW]
    if len(recent) >= MAX_FAILURES:
        logger.warning("Sign-in for %r refused: too many failures from this address.", name)
        raise TooMany()
    user = accounts.authenticate(st.db, name, password)
    if user is None:
        st.failures[key] = recent + [now]
        logger.warning("Failed sign-in for %r.", name)
        return render(request, "login.html", status=401, error="login_failed", next=data.get("next", "/"))
    st.failures.pop(key, None)
    target = str(data.get("next") or "/")
    response = redirect(target if target.startswith("/") and not target.startswith("//") else "/")
    set_session(response, accounts.new_session(st.db, user), request)
    return response


def logout(request: Request) -> Response:
    accounts.end_session(state(request).db, request.cookies.get(COOKIE, ""))
    response = redirect("/login")
    response.delete_cookie(COOKIE, path="/")
    return response


def _setup_allowed(request: Request, token: str) -> bool:
    st = state(request)
    return bool(st.setup_token) and hmac.compare_digest(token, st.setup_token) and accounts.count_users(st.db) == 0


def setup_page(request: Request) -> Response:
    token = request.query_params.get("token", "")
    if not _setup_allowed(request, token):
        raise NotFound()
    return render(request, "setup.html", token=token)


async def setup(request: Request) -> Response:
    data = await form(request)
    token = str(data.get("token", ""))
    if not _setup_allowed(request, token):
        raise NotFound()
    st = state(request)
    try:
        user = accounts.add_user(st.db, str(data.get("name", "")), str(data.get("password", "")), "admin")
    except accounts.AccountError as e:
        return render(request, "setup.html", status=400, token=token, error_text=str(e))
    st.setup_token = ""
    response = redirect("/")
    set_session(response, accounts.new_session(st.db, user), request)
    return response


__all__ = ["current_user", "login", "login_page", "logout", "setup", "setup_page"]
