from pathlib import Path

import pytest

from addons.infra.download import DownloadError, fetch, fetch_small
from tests.helpers.listserver import ListServer


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    with ListServer() as s:
        yield s


def test_conditional_requests(server: ListServer, tmp_path: Path) -> None:
    route = server.serve("/a.txt", b"a.test\n", etag='"v1"')
    got = fetch(server.url("/a.txt"), tmp_path, max_size=1000, timeout=5)
    assert not got.not_modified and got.etag == '"v1"' and got.path and got.path.read_bytes() == b"a.test\n"
    again = fetch(server.url("/a.txt"), tmp_path, etag='"v1"', max_size=1000, timeout=5)
    assert again.not_modified and route.conditional_hits == 1
    route.etag = '"v2"'
    assert not fetch(server.url("/a.txt"), tmp_path, etag='"v1"', max_size=1000, timeout=5).not_modified


@pytest.mark.parametrize(
    "route, message",
    [
        (dict(status=500), "the server answered HTTP 500"),
        (dict(body=b"x" * 5000), "over the 1,000-byte cap"),
        (dict(body=b"a.test\n" * 100, truncate_to=50), "truncated"),
        (dict(body=b"a.test\n", delay=2.0), "no answer within 1 s"),
    ],
)
def test_failures_in_plain_words(server: ListServer, tmp_path: Path, route: dict, message: str) -> None:  # type: ignore[type-arg]
    server.serve("/bad", **{"body": b"", **route})
    with pytest.raises(DownloadError, match=message):
        fetch(server.url("/bad"), tmp_path, max_size=1000, timeout=1)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".download-")]  # no leftovers


def test_unreachable_and_missing(tmp_path: Path) -> None:
    from tests.helpers.upstream import free_port

    with pytest.raises(DownloadError, match="cannot reach"):
        fetch(f"http://127.0.0.1:{free_port()}/x", tmp_path, max_size=10, timeout=2)
    with pytest.raises(DownloadError, match="cannot read"):
        fetch(str(tmp_path / "nope.txt"), tmp_path, max_size=10, timeout=2)


def test_local_files_use_size_and_mtime_as_etag(tmp_path: Path) -> None:
    f = tmp_path / "list.txt"
    f.write_text("a.test\n")
    got = fetch(str(f), tmp_path / "work", max_size=100, timeout=1)
    assert not got.not_modified and got.etag
    assert fetch(str(f), tmp_path / "work", etag=got.etag, max_size=100, timeout=1).not_modified


def test_fetch_small(server: ListServer, tmp_path: Path) -> None:
    server.serve("/x.sig", b"c2ln\n")
    assert fetch_small(server.url("/x.sig"), timeout=2) == b"c2ln\n"
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch_small(server.url("/missing.sig"), timeout=2)
