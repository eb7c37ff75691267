from dashboard.errors import BadRequest, Forbidden, LoginRequired, NotFound, TooMany


def test_statuses() -> None:
    assert [e.status for e in (BadRequest(), LoginRequired(), Forbidden(), NotFound(), TooMany())] == [
        400, 401, 403, 404, 429]
    assert Forbidden().key == "error_forbidden"
