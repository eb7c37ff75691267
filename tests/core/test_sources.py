import pytest

from addons.core.errors import Collector
from addons.core.sources import SourceFormat, parse_duration, parse_size, parse_sources
from addons.core.yamlsrc import parse
from tests.core.policy_helpers import categories


def sources(text: str) -> tuple[list, list[str]]:  # type: ignore[type-arg]
    c = Collector()
    data, errs = parse(text, "sources.yaml")
    assert not errs
    out = parse_sources(data, "sources.yaml", categories(), c)
    return out, [str(e) for e in c.errors]


@pytest.mark.parametrize("value, seconds", [("30s", 30), ("15m", 900), ("12h", 43200), ("1d", 86400), (90, 90),
                                             ("1.5h", 5400)])
def test_duration(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value, size", [("500k", 512000), ("50MB", 50 << 20), ("1g", 1 << 30), (1000, 1000)])
def test_size(value: object, size: int) -> None:
    assert parse_size(value) == size


def test_a_full_source() -> None:
    out, errs = sources(
        "sources:\n"
        "  vn-adult: {url: 'https://lists.test/a.hosts', format: hosts, category: adult, refresh: 12h,"
        " max_size: 10MB, timeout: 30s}\n"
        "  ut1:\n    url: https://lists.test/blacklists.tar.gz\n    format: ut1-tarball\n"
        "    categories: {adult: adult, jeux: games}\n"
        "  authority: {url: 'https://gov.test/csam.txt', format: urls, category: csam, locked: true,"
        " signature: required}\n"
        "  local: {path: /srv/x.txt, category: gambling, enabled: false}\n")
    assert not errs
    by = {s.name: s for s in out}
    assert by["vn-adult"].refresh == 43200 and by["vn-adult"].max_size == 10 << 20 and by["vn-adult"].timeout == 30
    assert by["ut1"].format is SourceFormat.UT1 and by["ut1"].targets == ("adult", "games")
    assert by["authority"].locked and by["authority"].signature
    assert by["local"].location == "/srv/x.txt" and not by["local"].enabled


@pytest.mark.parametrize(
    "text, message",
    [
        ("sources:\n  x: {format: hosts, category: adult}", "needs exactly one of url or path"),
        ("sources:\n  x: {url: ftp://a/b, category: adult}", "must start with https://"),
        ("sources:\n  x: {url: 'https://a/b', format: csv, category: adult}", "unknown format 'csv'"),
        ("sources:\n  x: {url: 'https://a/b', category: adlut}", "unknown category 'adlut'. Fix: did you mean 'adult'?"),
        ("sources:\n  x: {url: 'https://a/b'}", "source 'x' has no category"),
        ("sources:\n  x: {url: 'https://a/b', category: adult, refresh: soon}", "refresh of source 'x'"),
        ("sources:\n  x: {url: 'https://a/b', category: adult, refresh: 10s}", "is under a minute"),
        ("sources:\n  x: {url: 'https://a/b', category: adult, max_size: huge}", "is not a size"),
        ("sources:\n  x: {url: 'https://a/b', category: adult, locked: true, signature: required}",
         "feeds category 'adult', which is not locked"),
        ("sources:\n  x: {url: 'https://a/b', category: csam, locked: true}", "locked source 'x' must be signed"),
        ("sources:\n  x: {url: 'https://a/b', category: adult, signature: maybe}", "signature must be 'required'"),
        ("sources:\n  x: {url: 'https://a/b', format: ut1-tarball, categories: {adult: porn}}", "unknown category 'porn'"),
        ("sources:\n  x: {url: 'https://a/b', category: adult, refrsh: 1d}", "unknown key 'refrsh'"),
        ("sources:\n  Bad: {url: 'https://a/b', category: adult}", "source name 'Bad' is not valid"),
        ("sources:\n  x: {url: 'https://a/b', format: hashes, category: csam}", "image-hash source 'x' must be locked"),
    ],
)
def test_errors(text: str, message: str) -> None:
    out, errs = sources(text)
    assert any(message in e for e in errs), errs
    assert not out


def test_empty_file_and_no_sources() -> None:
    assert sources("sources: {}") == ([], [])


def test_a_baseline_source_is_signed_and_feeds_no_category() -> None:
    out, errs = sources("sources:\n"
                        "  so-gd: {url: 'https://so.test/lists/baseline.yaml', format: baseline, signature: required}\n")
    assert not errs and out[0].format is SourceFormat.BASELINE
    _, errs = sources("sources:\n"
                      "  so-gd: {url: 'https://so.test/lists/baseline.yaml', format: baseline}\n")
    assert errs == ["sources.yaml:2: baseline source 'so-gd' must be signed. Fix: add signature: required "
                    "(the department signs its baseline)"]
    _, errs = sources("sources:\n  so-gd:\n    url: 'https://so.test/lists/baseline.yaml'\n    format: baseline\n"
                      "    signature: required\n    category: adult\n")
    assert errs == ["sources.yaml:6: a baseline feeds no category. Fix: remove category: (the baseline names "
                    "its categories)"]
