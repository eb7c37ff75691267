"""HTTP errors as exceptions, handled in one place (app.py); users never see a
stack trace or an SQL error."""

from __future__ import annotations


class HTTPError(Exception):
    status = 500
    key = "error_internal"

    def __init__(self, detail: str = ""):
        super().__init__(detail)
        self.detail = detail


class BadRequest(HTTPError):
    status = 400
    key = "error_bad_request"


class LoginRequired(HTTPError):
    status = 401
    key = "error_login"


class Forbidden(HTTPError):
    status = 403
    key = "error_forbidden"


class NotFound(HTTPError):
    status = 404
    key = "error_not_found"


class TooMany(HTTPError):
    status = 429
    key = "error_too_many"
