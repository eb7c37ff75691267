"""Image-hash lists from the authorities: exact hashes (SHA-256, MD5) and PDQ
perceptual hashes (256 bits), matched on the box. Only hashes are ever held:
never an image.

List format, one entry per line (`#` comments):

    sha256 <64 hex digits> [entry id]
    md5    <32 hex digits> [entry id]
    pdq    <64 hex digits> [entry id]

The entry id defaults to the line number. Matches report the list id and the
entry id only, never the entry itself.

PDQ matching compares the image's hash, and the hashes of its rotations and
mirror images, with the listed PDQ hashes (vectorised XOR and popcount; a
multi-index for large lists) and takes the nearest within the threshold.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

KINDS = {"sha256": 64, "md5": 32, "pdq": 64}
MASK64 = (1 << 64) - 1
CHUNK_BITS = 16
CHUNKS = 256 // CHUNK_BITS
BRUTE_FORCE_MAX = 12_000  # PDQ entries up to which a lookup compares with all of them
MULTI_INDEX_MAX_THRESHOLD = 4 * CHUNK_BITS  # beyond, probing chunks costs more than comparing all
_HEX = re.compile(r"^[0-9a-fA-F]+$")


@dataclass(frozen=True, slots=True)
class HashEntry:
    kind: str
    value: str  # lower-case hex
    entry_id: str
    line: int


@dataclass
class ParsedHashes:
    entries: list[HashEntry] = field(default_factory=list)
    bad: list[tuple[int, str]] = field(default_factory=list)
    lines: int = 0


def parse_hashes(text: str) -> ParsedHashes:
    out = ParsedHashes()
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        out.lines += 1
        parts = line.split()
        kind = parts[0].lower()
        if kind not in KINDS or len(parts) < 2:
            out.bad.append((lineno, "a line is 'sha256|md5|pdq <hex> [entry id]'"))
            continue
        value = parts[1].lower()
        if len(value) != KINDS[kind] or not _HEX.match(value):
            out.bad.append((lineno, f"a {kind} hash has {KINDS[kind]} hexadecimal digits"))
            continue
        out.entries.append(HashEntry(kind, value, parts[2] if len(parts) > 2 else str(lineno), lineno))
    return out


@dataclass(frozen=True, slots=True)
class HashMatch:
    list_id: str
    category: str
    entry_id: str
    line: int
    kind: str  # sha256, md5 or pdq
    distance: int = 0  # Hamming distance for PDQ


def _flip_masks(bits: int, radius: int) -> np.ndarray:
    """Every mask of `bits` bits with at most `radius` bits set."""
    masks = [0]
    for r in range(1, radius + 1):
        masks += [sum(1 << b for b in combo) for combo in combinations(range(bits), r)]
    return np.array(masks, dtype=np.uint16)


def _expand(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The positions of all ranges [lo, hi) as one array, and which range each came from."""
    lengths = hi - lo
    owner = np.repeat(np.arange(len(lo)), lengths)
    starts = np.cumsum(lengths) - lengths
    return np.repeat(lo, lengths) + (np.arange(int(lengths.sum())) - np.repeat(starts, lengths)), owner


class _MultiIndex:
    """PDQ hashes cut into 16 chunks of 16 bits, each chunk sorted. Two hashes within
    distance d differ in at least one chunk by at most d // 16 bits (pigeonhole), so a
    lookup probes, in each chunk, the values within that many bits of the query's
    chunk (17 probes per chunk at the default threshold of 31) and measures the
    distance only to the entries found there. 96 bytes per listed hash."""

    def __init__(self, words: np.ndarray):
        chunks = _chunks(words)
        order = np.argsort(chunks, axis=0, kind="stable").astype(np.int32)
        self.order = [np.ascontiguousarray(order[:, c]) for c in range(CHUNKS)]
        self.sorted = [np.ascontiguousarray(chunks[order[:, c], c]) for c in range(CHUNKS)]
        self._masks: dict[int, np.ndarray] = {}

    def candidates(self, queries: np.ndarray, threshold: int) -> tuple[np.ndarray, np.ndarray]:
        """(entry index, query index) pairs worth measuring."""
        radius = threshold // CHUNK_BITS
        masks = self._masks.get(radius)
        if masks is None:
            masks = self._masks[radius] = _flip_masks(CHUNK_BITS, radius)
        qchunks = _chunks(queries)
        entries, owners = [], []
        query_of_probe = np.repeat(np.arange(len(queries)), len(masks))
        for c in range(CHUNKS):
            probes = (qchunks[:, c][:, None] ^ masks[None, :]).ravel()
            lo = np.searchsorted(self.sorted[c], probes, "left")
            hi = np.searchsorted(self.sorted[c], probes, "right")
            found = hi > lo
            if not found.any():
                continue
            positions, probe = _expand(lo[found], hi[found])
            entries.append(self.order[c][positions])
            owners.append(query_of_probe[found][probe])
        if not entries:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.int64)
        return np.concatenate(entries), np.concatenate(owners)


def _chunks(words: np.ndarray) -> np.ndarray:
    """(N, 4) 64-bit words → (N, 16) 16-bit chunks, most significant first."""
    shifts = np.array([48, 32, 16, 0], dtype=np.uint64)
    return ((words[:, :, None] >> shifts) & np.uint64(0xFFFF)).astype(np.uint16).reshape(len(words), CHUNKS)


def _words(values: Sequence[int]) -> np.ndarray:
    """256-bit integers → (N, 4) 64-bit words, most significant first."""
    raw = b"".join(v.to_bytes(32, "big") for v in values)
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(len(values), 4)


def _distances(rows: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Hamming distances: rows (4, N) words against queries (4, N) words, column by column."""
    bits = np.bitwise_count(rows ^ queries)
    return bits[0].astype(np.uint16) + bits[1] + bits[2] + bits[3]


class HashIndex:
    """Exact hashes in a dict; PDQ hashes as an (N, 4) array of 64-bit words. A PDQ
    lookup measures the distance to every entry at once for small lists, and uses a
    multi-index (see _MultiIndex) for large ones: about a millisecond for a
    million entries."""

    def __init__(self, lists: list[tuple[str, str, list[HashEntry]]]):
        self._exact: dict[str, tuple[int, HashEntry]] = {}
        self._lists: list[tuple[str, str]] = []  # (list id, category)
        pdq: list[tuple[int, HashEntry]] = []
        for list_index, (list_id, category, entries) in enumerate(lists):
            self._lists.append((list_id, category))
            for e in entries:
                if e.kind == "pdq":
                    pdq.append((list_index, e))
                else:
                    self._exact.setdefault(e.value, (list_index, e))
        self._pdq_entries = pdq
        words = np.frombuffer(b"".join(bytes.fromhex(e.value) for _, e in pdq), dtype=">u8")
        self._pdq = words.astype(np.uint64).reshape(len(pdq), 4)
        self._multi = _MultiIndex(self._pdq) if len(pdq) > BRUTE_FORCE_MAX else None
        self._columns = self._pdq.T.copy() if self._multi is None else None  # (4, N), for comparing with all
        self.count = len(self._exact) + len(pdq)
        self.pdq_count = len(pdq)
        self.large = self._multi is not None  # a lookup takes milliseconds: callers run it off the event loop
        self.lists = tuple(list_id for list_id, _ in self._lists)

    def __bool__(self) -> bool:
        return self.count > 0

    def _match(self, list_index: int, e: HashEntry, distance: int = 0) -> HashMatch:
        list_id, category = self._lists[list_index]
        return HashMatch(list_id, category, e.entry_id, e.line, e.kind, distance)

    def match_exact(self, *hex_digests: str) -> HashMatch | None:
        for value in hex_digests:
            hit = self._exact.get(value)
            if hit is not None:
                return self._match(*hit)
        return None

    def match_pdq(self, values: Sequence[int], threshold: int, *, multi: bool | None = None) -> HashMatch | None:
        """The nearest listed PDQ hash within `threshold` bits of any of `values` (the
        image's hash and, from PDQ's dihedral hashing, those of its rotations and mirror
        images), if any. `multi` forces the multi-index on or off (tests)."""
        if not self.pdq_count or not values:
            return None
        queries = _words(values)
        use_multi = self._multi is not None if multi is None else multi
        if use_multi and threshold < MULTI_INDEX_MAX_THRESHOLD:
            index = self._multi or _MultiIndex(self._pdq)
            entries, owners = index.candidates(queries, threshold)
            if not len(entries):
                return None
            # rows, not columns: one cache line per candidate
            distances = _distances(self._pdq[entries].T, queries[owners].T)
            best = int(distances.argmin())
            entry, distance = int(entries[best]), int(distances[best])
        else:
            # (4, Q, N): every query against every entry, one word at a time
            columns = self._columns if self._columns is not None else self._pdq.T
            nearest = _distances(columns[:, None, :], queries.T[:, :, None]).min(axis=0)
            entry = int(nearest.argmin())
            distance = int(nearest[entry])
        if distance > threshold:
            return None
        list_index, e = self._pdq_entries[entry]
        return self._match(list_index, e, distance)


EMPTY = HashIndex([])


def pdq_int(bits: object) -> int:
    """PDQ's 256 bits (a sequence of 0/1, as pdqhash returns them) as one integer."""
    value = 0
    for bit in bits:  # type: ignore[attr-defined]
        value = (value << 1) | (1 if bit else 0)
    return value


def pdq_hex(bits: object) -> str:
    return f"{pdq_int(bits):064x}"


@dataclass(frozen=True, slots=True)
class ImageCheck:
    """How one image response was checked (flow metadata for the incident log and metrics)."""

    result: str  # one of CHECK_RESULTS
    match: HashMatch | None = None


CHECK_RESULTS = ("hashed", "cached", "exact_only", "low_quality", "unreadable", "too_large")


def match_image(index: HashIndex, sha256: str, md5: str, pdq: Sequence[int], threshold: int) -> HashMatch | None:
    """An exact match first (the same bytes), else the nearest PDQ match within `threshold`."""
    return index.match_exact(sha256, md5) or index.match_pdq(pdq, threshold)
