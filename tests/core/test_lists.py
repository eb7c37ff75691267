import pytest

from addons.core.domains import normalise_host
from addons.core.lists import (
    DomainIndex,
    IndexFormatError,
    ListFormat,
    SourceMeta,
    build_index,
    parse_list,
    within_budget,
)


@pytest.mark.parametrize(
    "line, domains",
    [
        ("example.com", ["example.com"]),
        ("Example.COM.", ["example.com"]),
        ("*.wild.com", ["wild.com"]),
        (".dot.com", ["dot.com"]),
        ("0.0.0.0 ads.example.net other.example.org", ["ads.example.net", "other.example.org"]),
        ("127.0.0.1 tracker.vn # comment", ["tracker.vn"]),
        ("0.0.0.0 localhost", []),
        ("||adblock.example^", ["adblock.example"]),
        ("||adblock.example^$important", ["adblock.example"]),
        ("118.123.4.224", ["118.123.4.224"]),
        ("xổsố.vn", [normalise_host("xổsố.vn")]),
    ],
)
def test_domain_lines(line: str, domains: list[str]) -> None:
    parsed = parse_list(line + "\n")
    assert [d for _, d in parsed.domains] == domains and not parsed.bad


def test_comments_exceptions_urls_and_bad_lines() -> None:
    text = "# title\n! adblock comment\n[Adblock Plus 2.0]\n@@||good.example^\nsite.vn/path/X?q=1\nnot a domain !\n\n"
    parsed = parse_list(text)
    assert parsed.exceptions == [(4, "good.example")]
    assert parsed.urls == [(5, "site.vn", "/path/x")]
    assert parsed.bad == [(6, "not a domain name, and not a hosts-file line ('0.0.0.0 name' or '127.0.0.1 name')")]
    assert parsed.lines == 3


def test_url_format_strips_www_and_scheme() -> None:
    parsed = parse_list("http://www.news.test/violent/\nnews2.test\n", ListFormat.URLS)
    assert parsed.urls == [(1, "news.test", "/violent/")]
    assert parsed.domains == [(2, "news2.test")]


def test_adblock_options_are_refused() -> None:
    parsed = parse_list("||x.example^$third-party\n", ListFormat.ADBLOCK)
    assert parsed.bad and "not supported" in parsed.bad[0][1]


@pytest.mark.parametrize(
    "text, ok",
    [
        ("a.com\n", True),
        ("# only comments\n", False),
        ("a.com\n" + "bad line\n" * 3, True),  # within 100 errors
    ],
)
def test_budget(text: str, ok: bool) -> None:
    assert (within_budget(parse_list(text), max_errors=100) is None) is ok


def test_budget_refuses_mostly_garbage() -> None:
    parsed = parse_list("a.com\n" + "garbage line\n" * 50)
    assert "51 lines" in (within_budget(parsed, max_errors=10) or "")


def _index(entries, urls=(), locked=()):  # type: ignore[no-untyped-def]
    cats = ["adult", "games", "csam"]
    sources = [SourceMeta("lists/a", "adult", "domains"), SourceMeta("lists/b", "games", "domains")]
    return DomainIndex(build_index(cats, locked, sources, entries, urls))


def test_index_lookup_walks_parents_and_keeps_every_category() -> None:
    idx = _index([("example.com", 0, 0, 7), ("example.com", 1, 1, 3), ("x.example.com", 1, 1, 4),
                  ("example.com", 0, 1, 9)])
    hits = idx.lookup("www.x.example.com")
    assert [(h.category, h.matched, h.source, h.line) for h in hits] == [
        ("games", "x.example.com", "lists/b", 4),
        ("adult", "example.com", "lists/a", 7),  # the duplicate adult entry is dropped
        ("games", "example.com", "lists/b", 3),
    ]
    assert idx.lookup("example.org") == []
    assert idx.count == 3


def test_index_urls_and_locked() -> None:
    idx = _index([("bad.test", 2, 0, 1)], urls=[("news.test", "/violent/", 0, 0, 2)], locked=["csam"])
    assert idx.lookup("bad.test")[0].locked
    assert [h.matched for h in idx.lookup("www.news.test", "/Violent/a")] == ["news.test/violent/"]
    assert idx.lookup("news.test", "/sport/") == []
    assert idx.url_count == 1


def test_index_at_scale_uses_buckets() -> None:
    entries = [(f"site{i}.example", i % 2, 0, i + 1) for i in range(5000)]
    idx = _index(entries)
    assert idx._bits > 0  # type: ignore[attr-defined]
    for i in (0, 1234, 4999):
        assert [h.line for h in idx.lookup(f"www.site{i}.example")] == [i + 1]
    assert idx.lookup("site5000.example") == []


def test_corrupt_index_is_refused() -> None:
    data = build_index(["a"], [], [SourceMeta("x", "a", "domains")], [("a.com", 0, 0, 1)])
    with pytest.raises(IndexFormatError, match="truncated"):
        DomainIndex(data[:-10])
    with pytest.raises(IndexFormatError, match="not a schoolgate index"):
        DomainIndex(b"X" * len(data))


def test_listed_public_suffixes_match_only_themselves() -> None:
    idx = _index([("github.io", 0, 0, 1), ("someone.github.io", 1, 0, 2), ("co.uk", 0, 0, 3)],
                 urls=[("blogspot.com", "/x", 0, 0, 4)])
    assert [h.category for h in idx.lookup("github.io")] == ["adult"]
    assert [h.category for h in idx.lookup("www.someone.github.io")] == ["games"]
    assert idx.lookup("other.github.io") == [] and idx.lookup("bbc.co.uk") == []
    assert idx.lookup("a.blogspot.com", "/x") == [] and idx.lookup("blogspot.com", "/x/y")
