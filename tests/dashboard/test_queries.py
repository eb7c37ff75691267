import sqlite3
import time

from addons.infra.store import migrate
from dashboard import queries
from tests.dashboard.conftest import Dash


def test_counts_scope_and_department_suppression(dash: Dash) -> None:
    db = dash.settings.db_path
    migrate(db)
    hour = int(time.time()) // 3600 * 3600
    with sqlite3.connect(db) as conn:
        conn.executemany("INSERT INTO traffic_hourly VALUES (?, ?, ?, ?, ?, ?, ?)", [
            (hour, "grade-7", "lower-secondary", "games", "block", "category", 12),
            (hour, "grade-3", "primary", "adult", "block", "category", 3),
            (hour, "grade-7", "lower-secondary", "", "allow", "default", 100),
        ])
    assert queries.today_counts(db, dash.settings.zone, ("grade-7",)) == {"allow": 100, "block": 12}
    assert queries.today_counts(db, dash.settings.zone, None)["block"] == 15
    assert queries.today_counts(db, dash.settings.zone, ())["block"] == 0
    figures = queries.department_figures(db, dash.settings.zone, 30, 5)
    cells = {(c["level"], c["category"], c["action"]): c["count"] for c in figures["cells"]}
    assert cells == {("lower-secondary", "games", "block"): 12, ("lower-secondary", "", "allow"): 100}
    assert sum(n for _, n in queries.blocks_per_day(db, dash.settings.zone, None)) == 15
    assert queries.proxy_status(db)["up"] is False
