import sqlite3

from addons.infra.store import migrate
from tests.dashboard.conftest import Dash


def test_alerts_are_scoped_to_designated_teachers_grades(dash: Dash) -> None:
    db = dash.settings.db_path
    migrate(db)
    with sqlite3.connect(db) as conn:
        conn.executemany("INSERT INTO incidents (ts, kind, severity, group_id, reason, category, host, path, client_ref) "
                         "VALUES (1764000000, ?, ?, ?, ?, ?, ?, '/', 'ab:12')", [
                             ("alert", "high", "grade-7", "safeguarding", "self_harm", "forum.test"),
                             ("alert", "high", "grade-3", "safeguarding", "bullying", "chat3.test"),
                             ("block", "info", "grade-7", "category", "games", "games.test")])
    page = dash.client("teacher").get("/alerts").text
    assert "forum.test" in page and "chat3.test" not in page and "games.test" not in page
    assert dash.client("teacher2").get("/alerts").status_code == 403  # not designated
    admin = dash.client("admin")
    assert "chat3.test" in admin.get("/alerts").text and "games.test" in admin.get("/incidents").text


def test_locked_list_matches_show_list_and_entry_but_no_path(dash: Dash) -> None:
    db = dash.settings.db_path
    migrate(db)
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO incidents (ts, kind, severity, group_id, reason, category, host, path, client_ref, "
                     "detail) VALUES (1764000000, 'alert', 'critical', 'grade-7', 'illegal', 'csam', 'img.bad.test', "
                     "NULL, 'ab:12', 'sources/authority/csam.hashes entry img-4')")
        conn.execute("INSERT INTO incidents (ts, kind, severity, group_id, reason, category, host, path, client_ref, "
                     "detail) VALUES (1764000001, 'alert', 'high', 'grade-7', 'safeguarding', 'self_harm', "
                     "'forum.test', '/', 'ab:12', 'internal note')")
    page = dash.client("teacher").get("/alerts?lang=en").text
    assert "sources/authority/csam.hashes entry img-4" in page and "img.bad.test" in page
    assert "Known child-abuse material" in page and "internal note" not in page
    assert "Tài liệu xâm hại trẻ em đã biết" in dash.client("teacher").get("/alerts?lang=vi").text
