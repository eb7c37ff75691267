from tests.dashboard.conftest import Dash


def test_home_in_both_languages(dash: Dash) -> None:
    c = dash.client("teacher")
    vi = c.get("/").text
    assert "Tổng quan" in vi and "Bị chặn hôm nay" in vi and "<svg" in vi
    en = c.get("/?lang=en").text
    assert "Overview" in en and "Blocked today" in en
    assert "Overview" in c.get("/").text  # the choice is remembered in a cookie
    assert "Safeguarding alerts" in en  # the teacher is designated
    assert "Safeguarding alerts" not in dash.client("teacher2").get("/?lang=en").text
