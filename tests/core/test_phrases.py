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
