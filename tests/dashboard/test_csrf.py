from starlette.requests import Request

from dashboard.csrf import allowed


def req(method: str, headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in {"host": "dash.test", **headers}.items()]
    return Request({"type": "http", "method": method, "headers": raw, "path": "/"})


def test_rules() -> None:
    assert allowed(req("GET", {"Sec-Fetch-Site": "cross-site"}))
    assert allowed(req("POST", {"Sec-Fetch-Site": "same-origin"}))
    assert not allowed(req("POST", {"Sec-Fetch-Site": "cross-site"}))
    assert not allowed(req("POST", {"Sec-Fetch-Site": "same-site"}))
    assert allowed(req("POST", {"Origin": "http://dash.test"}))
    assert not allowed(req("POST", {"Origin": "http://evil.test"}))
    assert not allowed(req("POST", {}))
