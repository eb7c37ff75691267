import json
from pathlib import Path

from addons.core.i18n import Catalog, parity_problems, placeholders

LOCALES = Path(__file__).resolve().parents[2] / "addons" / "locales"


def test_block_page_catalogues_have_the_same_keys_and_placeholders() -> None:
    cats = {p.stem: json.loads(p.read_text("utf-8")) for p in LOCALES.glob("*.json")}
    assert set(cats) == {"vi", "en"}
    assert parity_problems(cats) == []


def test_parity_problems_are_found() -> None:
    problems = parity_problems({"en": {"a": "x {n}", "b": "y"}, "vi": {"a": "x {m}", "c": "z"}})
    assert problems == [
        "vi: missing key b",
        "vi: extra key c",
        "vi: a has placeholders ['m'], en has ['n']",
    ]


def test_lookup_falls_back_to_english() -> None:
    c = Catalog({"en": {"k": "Hello {name}", "only_en": "E"}, "vi": {"k": "Xin chào {name}"}})
    assert c.t("vi", "k", name="An") == "Xin chào An"
    assert c.t("vi", "only_en") == "E" and c.t("vi", "missing") == "missing"
    assert placeholders("{a} and {b}") == {"a", "b"}
