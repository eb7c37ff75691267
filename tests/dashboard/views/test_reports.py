from tests.dashboard.conftest import Dash


def test_report_inbox(dash: Dash) -> None:
    child = dash.client()
    assert "vn-cop.vn" in child.get("/report").text
    assert child.post("/report", data={"url": "http://bad.test/post", "kind": "bullying",
                                       "description": "bắt nạt bạn cùng lớp"}).status_code == 200
    admin = dash.client("admin")
    page = admin.get("/reports").text
    assert "bad.test/post" in page and "bắt nạt bạn cùng lớp" in page
    assert admin.post("/reports/1", data={"status": "forwarded"}).status_code == 303
    assert "đã chuyển cơ quan chức năng" in admin.get("/reports").text
    assert admin.post("/reports/1", data={"status": "deleted"}).status_code == 400
