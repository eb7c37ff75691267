"""CSRF protection by the browser's own headers: an unsafe request must come from
this site (Sec-Fetch-Site: same-origin), or carry an Origin equal to this site.
Requests with neither header (command-line tools) are refused too."""

from __future__ import annotations

from starlette.requests import Request

SAFE = ("GET", "HEAD", "OPTIONS")


def allowed(request: Request) -> bool:
    if request.method in SAFE:
        return True
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return False
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")
