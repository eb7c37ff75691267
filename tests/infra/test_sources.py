import gzip
import io
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest

from addons.core.model import Action, Reason, RequestView
from addons.core.settings import Settings
from addons.core.sources import Source, SourceFormat
from addons.infra.loader import load_snapshot
from addons.infra.signing import generate, sign
from addons.infra.sources import copies, read_status, update_source
from tests.helpers.listserver import ListServer
from tests.helpers.trees import WEEKEND_NOON


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    with ListServer() as s:
        yield s


def tarball(files: dict[str, bytes], truncate: int | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    return raw[:truncate] if truncate else raw


def src(url: str, fmt: SourceFormat = SourceFormat.AUTO, category: str = "gambling", **kw: object) -> Source:
    cats = kw.pop("categories", {"*": category})
    targets = tuple(sorted(set(cats.values()) - {"auto"}))  # type: ignore[union-attr]
    return Source("test-src", url, None, fmt, cats, targets=targets, **kw)  # type: ignore[arg-type]


def decide(settings: Settings, host: str, group: str = "grade-7"):  # type: ignore[no-untyped-def]
    snap = load_snapshot(settings).snapshot
    return snap.decide(RequestView(host), snap.group(group), WEEKEND_NOON)


def write_sources(settings: Settings, text: str) -> None:
    (Path(settings.blocklists_dir) / "sources.yaml").write_text(text)


@pytest.mark.parametrize(
    "fmt, body",
    [
        (SourceFormat.HOSTS, b"# hosts\n0.0.0.0 remote-bet.test\n127.0.0.1 remote-casino.test\n"),
        (SourceFormat.DOMAINS, b"remote-bet.test\nremote-casino.test\n"),
        (SourceFormat.ADBLOCK, b"! adblock\n||remote-bet.test^\n||remote-casino.test^\n"),
        (SourceFormat.AUTO, gzip.compress(b"remote-bet.test\n0.0.0.0 remote-casino.test\n")),
    ],
)
def test_formats_end_up_in_the_index(server: ListServer, settings: Settings, fmt: SourceFormat, body: bytes) -> None:
    server.serve("/list", body)
    write_sources(settings, f"sources:\n  test-src: {{url: '{server.url('/list')}', format: {fmt.value}, "
                            "category: gambling}\n")
    snap = load_snapshot(settings).snapshot
    st = update_source(snap.sources[0], settings, snap.categories)
    assert st.ok and st.entries == 2 and st.categories == {"gambling": 2}
    v = decide(settings, "www.remote-casino.test")
    assert (v.action, v.category) == (Action.BLOCK, "gambling")
    assert v.rule.endswith("(list sources/test-src/gambling.domains:2)")


def test_ut1_tarball_maps_categories(server: ListServer, settings: Settings) -> None:
    server.serve("/blacklists.tar.gz", tarball({
        "blacklists/agressif/domains": b"fight.test\n",
        "blacklists/agressif/urls": b"news.test/fight/\n",
        "blacklists/jeux/domains": b"play.test\n",
        "blacklists/astrology/domains": b"stars.test\n",  # not mapped: skipped
        "blacklists/agressif/usage": b"notes\n",
    }))
    write_sources(settings, f"sources:\n  ut1:\n    url: '{server.url('/blacklists.tar.gz')}'\n"
                            "    format: ut1-tarball\n    categories: {agressif: violence, jeux: games}\n")
    snap = load_snapshot(settings).snapshot
    st = update_source(snap.sources[0], settings, snap.categories)
    assert st.ok and st.categories == {"violence": 2, "games": 1}
    assert decide(settings, "fight.test").category == "violence"
    assert decide(settings, "play.test", "grade-3").category == "games"
    assert decide(settings, "stars.test").action is Action.ALLOW
    snap = load_snapshot(settings).snapshot
    assert snap.decide(RequestView("news.test", "/fight/x"), snap.group("grade-7")).category == "violence"


@pytest.mark.parametrize(
    "body, status, message",
    [
        (tarball({"blacklists/jeux/domains": b"a.test\n" * 2000}, truncate=70), 200, "corrupt or truncated"),
        (b"\x1f\x8b not really gzip", 200, "gzip data is corrupt"),
        (b"", 500, "HTTP 500"),
        (b"good.test\n" + b"this is not a domain\n" * 150, 200, "could not be read"),
        (b"# comments only\n", 200, "no usable entries"),
    ],
)
def test_a_failed_update_keeps_the_previous_copy(server: ListServer, settings: Settings, body: bytes, status: int,
                                                 message: str) -> None:
    route = server.serve("/list", b"remote-bet.test\n")
    fmt = "ut1-tarball" if body.startswith(b"\x1f\x8b\x08") else "auto"
    cats = "categories: {jeux: games}" if fmt == "ut1-tarball" else "category: gambling"
    write_sources(settings, f"sources:\n  test-src: {{url: '{server.url('/list')}', format: auto, category: gambling}}\n")
    snap = load_snapshot(settings).snapshot
    assert update_source(snap.sources[0], settings, snap.categories).ok
    write_sources(settings, f"sources:\n  test-src: {{url: '{server.url('/list')}', format: {fmt}, {cats}}}\n")
    snap = load_snapshot(settings).snapshot
    route.body, route.status = body, status
    st = update_source(snap.sources[0], settings, snap.categories, force=True)
    assert message in st.last_error and st.last_success > 0
    assert read_status(settings, "test-src").last_error == st.last_error
    if fmt == "auto":
        assert decide(settings, "remote-bet.test").category == "gambling"  # old copy still in use


def test_304_keeps_the_copy_and_counts_as_success(server: ListServer, settings: Settings) -> None:
    route = server.serve("/list", b"remote-bet.test\n", etag='"one"')
    write_sources(settings, f"sources:\n  test-src: {{url: '{server.url('/list')}', category: gambling}}\n")
    snap = load_snapshot(settings).snapshot
    first = update_source(snap.sources[0], settings, snap.categories, now=1000.0)
    second = update_source(snap.sources[0], settings, snap.categories, now=2000.0)
    assert route.conditional_hits == 1 and second.last_success == 2000.0 and second.last_change == first.last_change
    route.etag, route.body = '"two"', b"remote-bet.test\nnew-bet.test\n"
    third = update_source(snap.sources[0], settings, snap.categories, now=3000.0)
    assert third.entries == 2 and third.etag == '"two"' and third.last_change == 3000.0


def test_the_same_list_again_keeps_the_installed_copy(server: ListServer, settings: Settings) -> None:
    route = server.serve("/list", b"remote-bet.test\n")  # a server without ETag or Last-Modified
    write_sources(settings, f"sources:\n  test-src: {{url: '{server.url('/list')}', category: gambling}}\n")
    snap = load_snapshot(settings).snapshot
    first = update_source(snap.sources[0], settings, snap.categories, now=1000.0)
    installed = sorted(p.name for p in (Path(settings.data_dir) / "lists" / "test-src").glob("v*"))
    assert len(installed) == 1
    second = update_source(snap.sources[0], settings, snap.categories, now=2000.0)
    assert second.ok and second.last_success == 2000.0 and second.last_change == first.last_change
    assert sorted(p.name for p in (Path(settings.data_dir) / "lists" / "test-src").glob("v*")) == installed
    route.body = b"remote-bet.test\nnew-bet.test\n"
    third = update_source(snap.sources[0], settings, snap.categories, now=3000.0)
    assert third.entries == 2 and third.last_change == 3000.0
    assert decide(settings, "new-bet.test").category == "gambling"


def test_a_changed_source_setting_converts_the_list_again(server: ListServer, settings: Settings) -> None:
    server.serve("/list", b"remote-bet.test\n", etag='"one"')
    write_sources(settings, f"sources:\n  test-src: {{url: '{server.url('/list')}', category: gambling}}\n")
    snap = load_snapshot(settings).snapshot
    update_source(snap.sources[0], settings, snap.categories, now=1000.0)
    assert decide(settings, "remote-bet.test").category == "gambling"
    # The admin files the same list under another category: the server's 304 must not keep the old copy.
    write_sources(settings, f"sources:\n  test-src: {{url: '{server.url('/list')}', category: games}}\n")
    snap = load_snapshot(settings).snapshot
    st = update_source(snap.sources[0], settings, snap.categories, now=2000.0)
    assert st.ok and st.last_change == 2000.0 and st.categories == {"games": 1}
    assert decide(settings, "remote-bet.test").category == "games"


def test_signed_sources(server: ListServer, settings: Settings) -> None:
    private, public = generate()
    body = b"abuse.test/gallery/\n"
    server.serve("/csam.txt", body)
    sig = server.serve("/csam.txt.sig", sign(body, private).encode())
    settings = replace(settings, authority_public_key=public)
    write_sources(settings, f"sources:\n  authority: {{url: '{server.url('/csam.txt')}', format: urls, "
                            "category: csam, locked: true, signature: required}\n")
    snap = load_snapshot(settings).snapshot
    assert update_source(snap.sources[0], settings, snap.categories).ok
    snap = load_snapshot(settings).snapshot
    v = snap.decide(RequestView("abuse.test", "/gallery/1.jpg"), snap.group("staff"))
    assert (v.reason, v.category) == (Reason.ILLEGAL, "csam")
    # tampered list: refused, the verified copy stays
    server.serve("/csam.txt", body + b"evil-addition.test/x/\n")
    st = update_source(snap.sources[0], settings, snap.categories, force=True)
    assert "signature check failed" in st.last_error
    # missing signature
    sig.status = 404
    st = update_source(snap.sources[0], settings, snap.categories, force=True)
    assert "HTTP 404" in st.last_error
    snap = load_snapshot(settings).snapshot
    assert snap.decide(RequestView("abuse.test", "/gallery/"), snap.group("staff")).reason is Reason.ILLEGAL
    assert snap.decide(RequestView("evil-addition.test", "/x/"), snap.group("staff")).action is Action.ALLOW


def test_adblock_exceptions(server: ListServer, settings: Settings) -> None:
    server.serve("/list", b"||bigsite.test^\n@@||help.bigsite.test^\n")
    write_sources(settings, f"sources:\n  test-src: {{url: '{server.url('/list')}', format: adblock, category: gambling}}\n")
    snap = load_snapshot(settings).snapshot
    update_source(snap.sources[0], settings, snap.categories)
    assert decide(settings, "bigsite.test").action is Action.BLOCK
    assert decide(settings, "www.help.bigsite.test").action is Action.ALLOW


def test_disabled_sources_are_not_loaded(server: ListServer, settings: Settings) -> None:
    server.serve("/list", b"remote-bet.test\n")
    write_sources(settings, f"sources:\n  test-src: {{url: '{server.url('/list')}', category: gambling}}\n")
    snap = load_snapshot(settings).snapshot
    update_source(snap.sources[0], settings, snap.categories)
    write_sources(settings, f"sources:\n  test-src: {{url: '{server.url('/list')}', category: gambling, "
                            "enabled: false}\n")
    snap = load_snapshot(settings).snapshot
    assert copies(settings, list(snap.sources)) == []
    assert decide(settings, "remote-bet.test").action is Action.ALLOW


def test_signed_image_hash_source(server: ListServer, settings: Settings) -> None:
    private, public = generate()
    body = f"# authority image hashes\nsha256 {'a' * 64} img-1\npdq {'b' * 64} img-2\n".encode()
    server.serve("/hashes.txt", body)
    server.serve("/hashes.txt.sig", sign(body, private).encode())
    settings = replace(settings, authority_public_key=public)
    write_sources(settings, f"sources:\n  authority-images: {{url: '{server.url('/hashes.txt')}', format: hashes, "
                            "category: csam, locked: true, signature: required}\n")
    snap = load_snapshot(settings).snapshot
    st = update_source(snap.sources[0], settings, snap.categories)
    assert st.ok and st.entries == 2 and st.categories == {"csam": 2}
    snap = load_snapshot(settings).snapshot
    m = snap.hashes.match_exact("a" * 64)
    assert m is not None and m.list_id == "sources/authority-images/csam.hashes" and m.entry_id == "img-1"
    assert snap.info["domains"] == 10  # no domain entries from a hash list
    # A tampered list is refused and the verified one stays.
    server.serve("/hashes.txt", body + f"sha256 {'c' * 64} planted\n".encode())
    st = update_source(snap.sources[0], settings, snap.categories, force=True)
    assert "signature check failed" in st.last_error
    snap = load_snapshot(settings).snapshot
    assert snap.hashes.match_exact("a" * 64) is not None and snap.hashes.match_exact("c" * 64) is None
    # A list with no usable line is refused too.
    empty = b"# nothing\nsha256 xyz\n"
    server.serve("/hashes.txt", empty)
    server.serve("/hashes.txt.sig", sign(empty, private).encode())
    st = update_source(snap.sources[0], settings, snap.categories, force=True)
    assert "no usable entries" in st.last_error
    assert load_snapshot(settings).snapshot.hashes.count == 2


DEPT_BASELINE = b"""\
version: "2026-12"
levels:
  lower-secondary:
    block: [games, gambling]
    safe_search: true
"""


def test_a_signed_baseline_tightens_the_local_policy(server: ListServer, settings: Settings) -> None:
    private, public = generate()
    server.serve("/lists/baseline.yaml", DEPT_BASELINE)
    sig = server.serve("/lists/baseline.yaml.sig", sign(DEPT_BASELINE, private).encode())
    write_sources(settings, f"sources:\n  so-gd: {{url: '{server.url('/lists/baseline.yaml')}', format: baseline, "
                            f"signature: required, public_key: '{public}'}}\n")
    assert decide(settings, "games.test").action is Action.ALLOW  # grade-7 (lower-secondary) allows games
    result = load_snapshot(settings)
    st = update_source(result.snapshot.sources[0], settings, result.snapshot.categories)
    assert st.ok, st.last_error
    result = load_snapshot(settings)
    assert result.snapshot.info["baseline_version"] == "2026-12"
    v = decide(settings, "games.test")
    assert (v.action, v.category) == (Action.BLOCK, "games")
    assert decide(settings, "games.test", "grade-11").action is Action.ALLOW  # not in the baseline
    # `schoolgate check` says where the local policy is looser than the baseline.
    warned = [str(w) for w in result.warnings]
    assert any("games" in w and "baseline" in w and "policies/lower-secondary.yaml:" in w for w in warned), warned
    # A baseline that does not parse, or is not signed by the department, never replaces the good one.
    bad = b"version: 2027\nlevels:\n  primary:\n    block: [adlut]\n"
    server.serve("/lists/baseline.yaml", bad)
    sig.body = sign(bad, private).encode()
    st = update_source(result.snapshot.sources[0], settings, result.snapshot.categories, force=True)
    assert "the baseline was refused" in st.last_error and "unknown category 'adlut'" in st.last_error
    server.serve("/lists/baseline.yaml", DEPT_BASELINE.replace(b"games, ", b""))
    st = update_source(result.snapshot.sources[0], settings, result.snapshot.categories, force=True)
    assert "signature check failed" in st.last_error
    assert load_snapshot(settings).snapshot.info["baseline_version"] == "2026-12"
    assert decide(settings, "games.test").action is Action.BLOCK
