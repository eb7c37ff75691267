from addons.core.model import VERDICT_KEY, Reason
from tests.addons.conftest import Chain


def test_blocked_by_extension_in_the_url(chain: Chain) -> None:
    f = chain.request(chain.flow("http://files.test/setup.EXE", client="127.0.0.7", accept="*/*"))
    assert f.response is not None and f.metadata[VERDICT_KEY].reason is Reason.FILETYPE


def test_blocked_by_mime_type_or_attachment_name(chain: Chain) -> None:
    f = chain.respond(chain.request(chain.flow("http://files.test/download?id=1", client="127.0.0.7")), b"PK",
                      "application/vnd.android.package-archive")
    assert f.response.status_code == 403 and f.metadata[VERDICT_KEY].reason is Reason.FILETYPE
    f = chain.respond(chain.request(chain.flow("http://files.test/get", client="127.0.0.7")), b"x",
                      "application/octet-stream", {"Content-Disposition": 'attachment; filename="game.torrent"'})
    assert f.response.status_code == 403


def test_staff_and_other_files_pass(chain: Chain) -> None:
    f = chain.respond(chain.request(chain.flow("http://files.test/get", client="127.0.0.20")), b"x",
                      "application/vnd.android.package-archive")
    assert f.response.status_code == 200
    f = chain.respond(chain.request(chain.flow("http://files.test/lesson.pdf", client="127.0.0.7")), b"%PDF",
                      "application/pdf")
    assert f.response.status_code == 200
