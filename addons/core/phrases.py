"""Weighted phrase scanning, Vietnamese and English.

Phrase files: `blocklists/phrases/<category>.<lang>.txt`, one phrase per line:

    40 cá độ bóng đá        weight, then the phrase
    30 ~nhà cái            "~": also matches text typed without accents (nha cai)
    -30 phòng chống cờ bạc  a negative weight: a sign the page is harmless

Text and phrases are compared after Unicode NFC normalisation and case folding,
so composed and decomposed tone marks match; `~` phrases are also compared with
every diacritic removed (and đ → d). A phrase matches only at word boundaries:
"sex" does not match "Sussex". Matching uses one Aho-Corasick automaton per
form, built once per list version; a page is scanned in one pass per form.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

import ahocorasick

MAX_COUNT_PER_PHRASE = 10  # one phrase repeated endlessly cannot dominate a score
# One alternation behind a shared "<": the regex engine then looks for "<" alone and
# tries the branches only there (half the time of four branches each starting "<").
_TAGS = re.compile(r"<(?:script\b.*?</script\s*|style\b.*?</style\s*|!--.*?--|[^>]*)>",
                   re.IGNORECASE | re.DOTALL)


def normalise(text: str) -> str:
    """NFC, lower case, runs of white space as one space."""
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return " ".join(text.lower().split())


def strip_accents(text: str) -> str:
    """Fold to plain ASCII letters: every diacritic removed (Vietnamese tone and vowel
    marks), đ → d; characters with no ASCII form dropped. Input normalised."""
    if text.isascii():
        return text
    folded = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return folded.encode("ascii", "ignore").decode("ascii")


def html_text(markup: str) -> str:
    """The visible text of an HTML page (scripts, styles, comments and tags removed)."""
    return html.unescape(_TAGS.sub(" ", markup))


@dataclass(frozen=True)
class Phrase:
    category: str
    weight: int
    text: str  # normalised (and accent-free for loose phrases)
    loose: bool
    source: str
    line: int
    accented: str = ""  # normalised, as written (with its accents)


@dataclass
class ParsedPhrases:
    phrases: list[Phrase] = field(default_factory=list)
    bad: list[tuple[int, str]] = field(default_factory=list)


def parse_phrases(text: str, category: str, source: str) -> ParsedPhrases:
    out = ParsedPhrases()
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        weight_text, _, phrase = line.partition(" ")
        try:
            weight = int(weight_text)
        except ValueError:
            out.bad.append((lineno, "a line is '<weight> <phrase>', for example '40 cá độ bóng đá'"))
            continue
        phrase = phrase.strip()
        loose = phrase.startswith("~")
        phrase = normalise(phrase.lstrip("~"))
        accented = phrase
        if loose:
            phrase = strip_accents(phrase)
        if len(phrase) < 2:
            out.bad.append((lineno, "the phrase is empty or one character long"))
            continue
        if weight == 0:
            out.bad.append((lineno, "a weight of 0 has no effect"))
            continue
        out.phrases.append(Phrase(category, weight, phrase, loose, source, lineno, accented))
    return out


@dataclass(frozen=True)
class ScanResult:
    scores: dict[str, int]  # category → score
    matches: int  # phrase occurrences counted

    def over(self, threshold: int, categories: frozenset[str] | set[str]) -> list[tuple[str, int]]:
        """Categories among `categories` whose score reaches `threshold`, highest first."""
        hit = [(c, s) for c, s in self.scores.items() if c in categories and s >= threshold]
        return sorted(hit, key=lambda cs: (-cs[1], cs[0]))


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


class PhraseIndex:
    """All phrase lists, compiled for scanning.

    Two automatons: `exact` holds every phrase as written (accented), `loose` holds
    the `~` phrases without accents. A search query goes through both (each `~`
    phrase counted from the accent-free pass only). A page goes through one pass:
    text with Vietnamese diacritics is matched as written (the `~` phrases in
    their accented form too), text without any non-ASCII letter is matched
    accent-insensitively. This halves the work on a 200 KB page; the cost is that
    unaccented fragments inside an accented page match only non-`~` phrases.
    """

    def __init__(self, phrases: list[Phrase]):
        self.phrases = tuple(phrases)  # kept to rebuild the index in a scanning worker process
        self.count = len(phrases)
        self.categories = frozenset(p.category for p in phrases)
        self._exact = self._build([(p.text, p) for p in phrases if not p.loose])
        self._loose = self._build([(p.text, p) for p in phrases if p.loose])
        self._page = self._build([(p.accented, p) for p in phrases])

    @staticmethod
    def _build(items: list[tuple[str, Phrase]]) -> ahocorasick.Automaton | None:
        if not items:
            return None
        grouped: dict[str, list[tuple[str, int]]] = {}
        for text, p in items:
            entries = grouped.setdefault(text, [])
            if (p.category, p.weight) not in entries:
                entries.append((p.category, p.weight))
        automaton = ahocorasick.Automaton()
        for text, entries in grouped.items():
            automaton.add_word(text, (len(text), tuple(entries)))
        automaton.make_automaton()
        return automaton

    @staticmethod
    def _scan(automaton: ahocorasick.Automaton | None, text: str, scores: Counter[str],
              counts: Counter[int]) -> int:
        if automaton is None or not text:
            return 0
        matched = 0
        n = len(text)
        for end, (length, entries) in automaton.iter(text):
            start = end - length + 1
            if start > 0 and _is_word_char(text[start - 1]):
                continue
            if end + 1 < n and _is_word_char(text[end + 1]):
                continue
            key = id(entries)
            counts[key] += 1
            if counts[key] > MAX_COUNT_PER_PHRASE:
                continue
            matched += 1
            for category, weight in entries:
                scores[category] += weight
        return matched

    def scan(self, text: str) -> ScanResult:
        """Score a search query or other short text (both passes)."""
        norm = normalise(text)
        scores: Counter[str] = Counter()
        counts: Counter[int] = Counter()
        matched = self._scan(self._exact, norm, scores, counts)
        if self._loose is not None:
            matched += self._scan(self._loose, strip_accents(norm), scores, counts)
        return ScanResult(dict(scores), matched)

    def scan_page(self, text: str) -> ScanResult:
        """Score a page's text in one pass (see the class docstring)."""
        if not text.isascii() and not unicodedata.is_normalized("NFC", text):
            text = unicodedata.normalize("NFC", text)
        low = text.lower().replace("\n", " ").replace("\t", " ").replace("\r", " ")
        scores: Counter[str] = Counter()
        counts: Counter[int] = Counter()
        if low.isascii():
            matched = self._scan(self._exact, low, scores, counts)
            matched += self._scan(self._loose, low, scores, counts)
        else:
            matched = self._scan(self._page, low, scores, counts)
        return ScanResult(dict(scores), matched)


EMPTY = PhraseIndex([])


# -- scanning in a worker process ---------------------------------------------------------
# The proxy hands page bodies to a worker so that a 200 KB scan never holds its event
# loop; the worker builds its own index once from the phrases it is started with.

_worker_index: PhraseIndex = EMPTY


def worker_init(phrases: tuple[Phrase, ...]) -> None:
    global _worker_index
    _worker_index = PhraseIndex(list(phrases))


def worker_scan(raw: bytes, is_html: bool, charset: str) -> ScanResult:
    try:
        text = raw.decode(charset or "utf-8", "replace")
    except LookupError:
        text = raw.decode("utf-8", "replace")
    return _worker_index.scan_page(html_text(text) if is_html else text)
