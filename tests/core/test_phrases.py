import random
import unicodedata

import pytest

from addons.core.phrases import PhraseIndex, html_text, normalise, parse_phrases, strip_accents

LIST = """\
# gambling
40 ~cá độ bóng đá
30 ~nhà cái
-30 phòng chống cờ bạc
20 sex
25 lô đề
"""


@pytest.fixture(scope="module")
def index() -> PhraseIndex:
    parsed = parse_phrases(LIST, "gambling", "gambling.vi.txt")
    assert not parsed.bad
    return PhraseIndex(parsed.phrases)


@pytest.mark.parametrize(
    "text, score",
    [
        ("Kèo cá độ bóng đá hôm nay", 40),
        ("KÈO CÁ ĐỘ BÓNG ĐÁ", 40),  # case folding
        (unicodedata.normalize("NFD", "kèo cá độ bóng đá"), 40),  # decomposed tone marks
        ("keo ca do bong da", 40),  # typed without accents: `~` phrases match
        ("ca  do\n bong   da", 40),  # white space runs
        ("nhà cái uy tín, nha cai so 1", 60),
        ("lo de", 0),  # not a `~` phrase: accents required
        ("chơi lô đề", 25),
        ("Sussex and Essex", 0),  # word boundaries
        ("sex education", 20),
        ("phòng chống cờ bạc: cá độ bóng đá là phạm pháp", 10),  # a negative phrase lowers the score
        ("cá độ bóng đá " * 30, 400),  # one phrase counts at most 10 times
        ("", 0),
    ],
)
def test_scores(index: PhraseIndex, text: str, score: int) -> None:
    assert index.scan(text).scores.get("gambling", 0) == score


def test_over_threshold_only_for_chosen_categories(index: PhraseIndex) -> None:
    r = index.scan("cá độ bóng đá, nhà cái")
    assert r.over(60, {"gambling"}) == [("gambling", 70)]
    assert r.over(80, {"gambling"}) == [] and r.over(60, {"adult"}) == []


def test_normalisation() -> None:
    assert normalise("  Xin   CHÀO\nthế giới ") == "xin chào thế giới"
    assert normalise(unicodedata.normalize("NFD", "Việt")) == "việt"
    assert strip_accents("đường tự tử ỗ") == "duong tu tu o"
    assert strip_accents("plain") == "plain"


def test_html_text_drops_scripts_styles_and_tags() -> None:
    page = "<html><head><style>.x{}</style><script>var s='cá độ';</script></head><body><p>Tin &amp; bài</p><!-- c --></body>"
    assert " ".join(html_text(page).split()) == "Tin & bài"


@pytest.mark.parametrize(
    "line, why",
    [("forty cá độ", "a line is '<weight> <phrase>'"), ("30 x", "one character long"), ("0 cá độ", "weight of 0")],
)
def test_bad_lines(line: str, why: str) -> None:
    parsed = parse_phrases(line + "\n", "gambling", "f")
    assert parsed.bad and why in parsed.bad[0][1] and parsed.bad[0][0] == 1


@pytest.mark.parametrize(
    "text, score",
    [
        ("<p>Kèo CÁ ĐỘ BÓNG ĐÁ hôm nay</p>", 40),  # accented page: phrases as written
        ("keo ca do bong da hom nay, nha cai", 70),  # a page without accents: `~` phrases match
        (unicodedata.normalize("NFD", "Kèo cá độ bóng đá"), 40),
        ("cá độ\nbóng đá", 40),  # line breaks in the page source
        ("lo de hom nay", 0),  # not a `~` phrase
        ("Sussex", 0),
    ],
)
def test_page_scan(index: PhraseIndex, text: str, score: int) -> None:
    assert index.scan_page(html_text(text)).scores.get("gambling", 0) == score


# -- the bytes path (scan_body) gives the str path's scores -------------------------------

def _shipped_index() -> PhraseIndex:
    from pathlib import Path

    phrases = []
    for f in sorted(Path(__file__).resolve().parents[2].joinpath("blocklists", "phrases").glob("*.txt")):
        phrases += parse_phrases(f.read_text(encoding="utf-8"), f.name.split(".")[0], f.name).phrases
    return PhraseIndex(phrases)


def _str_path(index: PhraseIndex, raw: bytes, is_html: bool, charset: str) -> dict[str, int]:
    from addons.core.phrases import body_text

    return index.scan_page(body_text(raw, is_html, charset)).scores


def _variants(rng: random.Random, phrase: str) -> str:
    words = phrase.split(" ")
    form = rng.choice(("lower", "upper", "title", "capital", "mixed"))
    if form == "upper":
        words = [w.upper() for w in words]
    elif form == "title":
        words = [w.capitalize() for w in words]
    elif form == "capital":
        words[0] = words[0].capitalize()
    elif form == "mixed":
        words = ["".join(c.upper() if rng.random() < 0.5 else c for c in w) for w in words]
    out = []
    for i, w in enumerate(words):
        if i:
            out.append(rng.choice((" ", " ", " ", "\n", "\t", "  ", "</b> <b>", "&nbsp;")))
        if rng.random() < 0.1 and w:
            c = w[0]
            w = rng.choice((f"&#{ord(c)};", f"&#x{ord(c):X};")) + w[1:]  # a character reference
        out.append(w)
    text = "".join(out)
    return rng.choice(("{}", "x{}", "{}x", "({})", "«{}»", "{}_", "<i>{}</i>", "<!-- {} -->",
                       "<script>var a='{}';</script>", "<STYLE>/* {} */</STYLE>", "<a title='{}'>t</a>")).format(text)


def test_scan_body_equals_the_str_path_on_generated_pages() -> None:
    index = _shipped_index()
    rng = random.Random(7)
    texts = sorted({p.accented for p in index.phrases} | {p.text for p in index.phrases})
    filler = "học sinh giáo viên trường lớp Đà Nẵng ĐẠI HỌC news today Ở nhà &amp; Ô tô".split()
    str_path_calls = []
    scan_page = index.scan_page
    for case in range(300):
        parts = []
        for _ in range(rng.randint(1, 40)):
            parts.append(_variants(rng, rng.choice(texts)) if rng.random() < 0.4 else rng.choice(filler))
        page = "<html><body><p>" + " ".join(parts) + "</p></body></html>"
        if case % 7 == 0:
            page = page.encode("ascii", "ignore").decode()  # an ASCII page: `~` phrases without accents
        raw = page.encode("utf-8")
        if case % 11 == 0:
            raw = raw.replace(b" ", b" \xff", 3)  # invalid UTF-8
        for is_html in (True, False):
            expected = _str_path(index, raw, is_html, "utf-8")
            index.scan_page = lambda text: str_path_calls.append(text) or scan_page(text)  # type: ignore[method-assign]
            try:
                assert index.scan_body(raw, is_html, "utf-8").scores == expected, page
            finally:
                del index.scan_page
    if __import__("importlib").util.find_spec("hyperscan") is not None:
        assert str_path_calls == []  # every generated page went through the bytes path


@pytest.mark.parametrize("charset, raw", [
    ("utf-8", unicodedata.normalize("NFD", "<p>KÈO CÁ ĐỘ BÓNG ĐÁ</p>").encode()),  # NFD: the str path
    ("windows-1258", "<p>cá đô\u0323 bóng đá</p>".encode("cp1258")),  # another charset (its own tone marks)
    ("no-such-charset", "<p>cá độ bóng đá</p>".encode()),
    ("utf-8", b"<p>k&#232;o c&#225; &#273;&#7897; b&#243;ng &#273;&#225;</p>"),
    ("utf-8", "<p>KÈO CÁ ĐỘ BÓNG ĐÁ</p>".encode()),
    ("utf-8", b"<p>ca do bong da</p>"),
    ("", "<p>Cá Độ Bóng Đá</p>".encode()),
])
def test_scan_body_every_form(index: PhraseIndex, charset: str, raw: bytes) -> None:
    assert index.scan_body(raw, True, charset).scores.get("gambling") == 40
    assert _str_path(index, raw, True, charset).get("gambling") == 40


def test_the_bytes_path_is_used_where_it_applies(index: PhraseIndex) -> None:
    pytest.importorskip("hyperscan")
    assert index._fast_matcher() is not None
    index.scan_page = None  # type: ignore[method-assign]  # the str path would now fail
    try:
        assert index.scan_body("<p>KÈO CÁ ĐỘ</p><p>bóng đá</p>".encode(), True, "utf-8").scores == {}
        assert index.scan_body("<b>Cá độ bóng đá</b>".encode(), True, "UTF-8").scores == {"gambling": 40}
    finally:
        del index.scan_page


def test_an_index_with_its_bytes_matcher_pickles(index: PhraseIndex) -> None:
    import pickle

    index.scan_body(b"<p>x</p>", True, "utf-8")
    copy = pickle.loads(pickle.dumps(index))
    assert copy.scan_body("cá độ bóng đá".encode(), False, "utf-8").scores == {"gambling": 40}


@pytest.mark.parametrize("name, body", [
    ("open-angles", b"<" * (1 << 20)),
    ("unclosed-scripts", b"<script " * (1 << 17)),
    ("unclosed-comments", b"<!--" * (1 << 18)),
    ("unclosed-tags", b"<a " * (1 << 18)),
    ("entities", b"&#" + b"1" * (1 << 20)),
])
def test_a_hostile_page_costs_what_an_ordinary_one_does(name: str, body: bytes) -> None:
    """1 MB built to make a backtracking tag pattern explode (the old one took 10 s on
    64 KB of "<") is scanned in about the time of an ordinary 1 MB page: a ratio."""
    import time

    from addons.core.phrases import strip_tags

    ordinary = (b"<p>Bai hoc hom nay ve moi truong</p><a href='/x'>tiep</a> " * (1 << 15))[: 1 << 20]

    def best(data: bytes) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            strip_tags(data)
            times.append(time.perf_counter() - start)
        return min(times)

    assert best(body) < 5 * best(ordinary) + 0.01
    assert strip_tags(b"<p>a</p><script>x<y</script>b<!-- c -->d") == b" a  b d".replace(b"  b", b"  b")
