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

Pages are scanned as bytes where that gives the same result (`scan_body`):
UTF-8 text without decomposed tone marks goes through Hyperscan, which folds
case itself (Vietnamese capitals included), after tags are removed and
character references decoded in the bytes. Anything else (another charset,
NFD text, Hyperscan missing on the platform) takes the str path: decode, NFC,
lower case, Aho-Corasick. Both give the same scores (tests/core/test_phrases.py
compares them); the bytes path costs about a quarter of the other on a 200 KB
Vietnamese page.
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import AnyStr
from collections import Counter
from dataclasses import dataclass, field

import ahocorasick

try:
    import hyperscan
except ImportError:  # a platform without a wheel: the str path scans everything
    hyperscan = None

MAX_COUNT_PER_PHRASE = 10  # one phrase repeated endlessly cannot dominate a score


_TAG = re.compile(r"<[^<>]*>")
_TAG_B = re.compile(rb"<[^<>]*>")
# Blocks whose content is not text: (opening, end marker); the block ends at the first
# '>' from its end marker on.
_RAW = (("<script", "</script"), ("<style", "</style"), ("<!--", "-->"))


def strip_tags(markup: AnyStr) -> AnyStr:
    """Markup without its tags, scripts, styles and comments, each replaced by a space.

    Linear time whatever the page (the single regular expression this replaces took
    10 s on 64 KB of "<"): each kind of block (script, style, comment) is searched
    for with its end marker, and a kind whose end marker does not occur any more is
    not searched for again; then a tag is '<' up to the next '>' with no '<' between,
    which no input can make backtrack. Bytes must be ASCII-lowered already."""
    is_bytes = isinstance(markup, bytes)
    low = markup if is_bytes else markup.lower()  # bytes come ASCII-lowered (PhraseIndex.scan_body)
    gt = b">" if is_bytes else ">"
    kinds = [(o.encode(), c.encode()) for o, c in _RAW] if is_bytes else list(_RAW)
    nexts = [low.find(o) for o, _ in kinds]  # type: ignore[arg-type]
    pieces: list[AnyStr] = []
    i = 0
    while True:
        live = [(pos, k) for k, pos in enumerate(nexts) if pos >= 0]
        if not live:
            break
        pos, k = min(live)
        opening, marker = kinds[k]
        after = pos + len(opening)
        if k < 2 and low[after:after + 1].isalnum():  # <scripts> is not <script>
            nexts[k] = low.find(opening, after)  # type: ignore[arg-type]
            continue
        close = low.find(marker, after)  # type: ignore[arg-type]
        end = markup.find(gt, close) if close >= 0 else -1  # type: ignore[arg-type]
        if end < 0:
            nexts[k] = -1  # no end left: no later block of this kind closes either
            continue
        if pos >= i:
            pieces.append(markup[i:pos])
            pieces.append(b" " if is_bytes else " ")  # type: ignore[arg-type]
            i = end + 1
        for j in range(len(kinds)):  # openings inside the block are not openings
            if 0 <= nexts[j] < i:
                nexts[j] = low.find(kinds[j][0], i)  # type: ignore[arg-type]
    pieces.append(markup[i:])
    joined = (b"" if is_bytes else "").join(pieces)  # type: ignore[attr-defined]
    return (_TAG_B if is_bytes else _TAG).sub(b" " if is_bytes else " ", joined)  # type: ignore[no-any-return]


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
    return html.unescape(strip_tags(markup))


def body_text(raw: bytes, is_html: bool, charset: str) -> str:
    """A response body as text for `PhraseIndex.scan_page` (undecodable bytes replaced)."""
    try:
        text = raw.decode(charset or "utf-8", "replace")
    except LookupError:
        text = raw.decode("utf-8", "replace")
    return html_text(text) if is_html else text


# The bytes path (see the module docstring). strip_tags runs on ASCII-lowered bytes.
_REF_B = re.compile(rb"&(?:#[0-9]+;?|#x[0-9a-f]+;?|[a-z][a-z0-9]*;?)")
_SPACES_B = bytes.maketrans(b"\n\t\r", b"   ")
_UTF8 = frozenset(("", "utf-8", "utf8", "us-ascii", "ascii"))
# Lead bytes of U+0300-U+037F: decomposed tone and vowel marks (NFD text) need NFC first.
_COMBINING_LEADS = (b"\xcc", b"\xcd")


def _unescape_ref(m: re.Match[bytes]) -> bytes:
    return html.unescape(m.group().decode("ascii")).encode("utf-8", "surrogatepass")


def _char_before(data: bytes, pos: int) -> str:
    start = pos - 1
    while start > 0 and 0x80 <= data[start] < 0xC0:
        start -= 1
    return data[start:pos].decode("utf-8", "replace")[-1:]


def _char_at(data: bytes, pos: int) -> str:
    return data[pos:pos + 4].decode("utf-8", "ignore")[:1]


Entries = tuple[tuple[str, int], ...]  # (category, weight) of one phrase text


def _grouped(items: list[tuple[str, Phrase]]) -> dict[str, Entries]:
    """Each distinct text with the distinct (category, weight) pairs of its phrases."""
    grouped: dict[str, list[tuple[str, int]]] = {}
    for text, p in items:
        entries = grouped.setdefault(text, [])
        if (p.category, p.weight) not in entries:
            entries.append((p.category, p.weight))
    return {text: tuple(entries) for text, entries in grouped.items()}


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
        self._fast: _BytesMatcher | None | bool = False  # built at the first page (False: not yet)

    @staticmethod
    def _build(items: list[tuple[str, Phrase]]) -> ahocorasick.Automaton | None:
        if not items:
            return None
        automaton = ahocorasick.Automaton()
        for text, entries in _grouped(items).items():
            automaton.add_word(text, (len(text), entries))
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

    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "_fast": False}  # Hyperscan databases are rebuilt, not pickled

    def scan_body(self, raw: bytes, is_html: bool, charset: str) -> ScanResult:
        """Score a response body: the bytes path where it applies, else `scan_page`."""
        fast = self._fast_matcher()
        if fast is not None and charset.lower() in _UTF8 and not any(b in raw for b in _COMBINING_LEADS):
            data = raw.lower()  # ASCII letters only: enough for the tag pattern; Hyperscan folds the rest
            if is_html:
                data = strip_tags(data)
                if b"&" in data:
                    data = _REF_B.sub(_unescape_ref, data)
            # Invalid UTF-8 is not checked for (decoding to check costs as much as the scan):
            # the patterns are literals, so an invalid byte simply matches nothing, as
            # U+FFFD does on the str path.
            if not any(b in data for b in _COMBINING_LEADS):  # a reference may decode to one
                return fast.scan(data.translate(_SPACES_B))
        return self.scan_page(body_text(raw, is_html, charset))

    def _fast_matcher(self) -> _BytesMatcher | None:
        if self._fast is False:
            self._fast = _BytesMatcher.build(self.phrases) if hyperscan is not None and self.phrases else None
        return self._fast  # type: ignore[return-value]


class _BytesMatcher:
    """Hyperscan databases equivalent to PhraseIndex's page automatons: `page` (every
    phrase as written) for text with non-ASCII letters, `ascii` (non-`~` phrases,
    and `~` phrases without accents) for text without."""

    def __init__(self, page: object, page_entries: list[Entries], ascii_db: object, ascii_entries: list[Entries]):
        self.page, self.page_entries = page, page_entries
        self.ascii, self.ascii_entries = ascii_db, ascii_entries

    @classmethod
    def build(cls, phrases: tuple[Phrase, ...]) -> _BytesMatcher | None:
        flags = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_UCP | \
            hyperscan.HS_FLAG_SOM_LEFTMOST
        try:
            page = cls._compile([(p.accented, p) for p in phrases], flags)
            ascii_db = cls._compile([(p.text, p) for p in phrases], flags)
        except hyperscan.error:  # for example a CPU without SSSE3
            return None
        return cls(*page, *ascii_db)

    @staticmethod
    def _compile(items: list[tuple[str, Phrase]], flags: int) -> tuple[object, list[Entries]]:
        grouped = _grouped(items)
        texts = list(grouped)
        db = hyperscan.Database()
        db.compile(expressions=[re.escape(t).encode("utf-8") for t in texts], ids=list(range(len(texts))),
                   elements=len(texts), flags=[flags] * len(texts))
        return db, [grouped[t] for t in texts]

    def scan(self, data: bytes) -> ScanResult:
        db, entries = (self.ascii, self.ascii_entries) if data.isascii() else (self.page, self.page_entries)
        found: list[tuple[int, int, int]] = []

        def on_match(pattern: int, start: int, end: int, flags: int, context: object) -> None:
            found.append((pattern, start, end))

        db.scan(data, match_event_handler=on_match)  # type: ignore[attr-defined]
        scores: Counter[str] = Counter()
        counts: Counter[int] = Counter()
        matched = 0
        n = len(data)
        for pattern, start, end in sorted(found, key=lambda f: (f[2], f[1])):
            if start > 0 and _is_word_char(_char_before(data, start)):
                continue
            if end < n and _is_word_char(_char_at(data, end)):
                continue
            counts[pattern] += 1
            if counts[pattern] > MAX_COUNT_PER_PHRASE:
                continue
            matched += 1
            for category, weight in entries[pattern]:
                scores[category] += weight
        return ScanResult(dict(scores), matched)


EMPTY = PhraseIndex([])


# -- scanning in a worker process ---------------------------------------------------------
# The proxy hands page bodies to a worker so that a 200 KB scan never holds its event
# loop; the worker builds its own index once from the phrases it is started with.

_worker_index: PhraseIndex = EMPTY


def worker_init(phrases: tuple[Phrase, ...]) -> None:
    global _worker_index
    _worker_index = PhraseIndex(list(phrases))
    _worker_index._fast_matcher()  # compiled now, not during the first page


def worker_scan(raw: bytes, is_html: bool, charset: str) -> ScanResult:
    return _worker_index.scan_body(raw, is_html, charset)
