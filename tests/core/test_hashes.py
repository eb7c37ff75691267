"""Image-hash lists: parsing, exact matches and PDQ matches by Hamming distance."""

from __future__ import annotations

import random

import pytest

from addons.core.hashes import (
    EMPTY,
    HashEntry,
    HashIndex,
    match_image,
    parse_hashes,
    pdq_hex,
    pdq_int,
)

SHA = "a" * 64
MD5 = "b" * 32


def pdq(value: int) -> HashEntry:
    return HashEntry("pdq", f"{value:064x}", "p1", 3)


def flip(value: int, bits: list[int]) -> int:
    for b in bits:
        value ^= 1 << b
    return value


def test_parse_reads_kinds_ids_and_reports_bad_lines() -> None:
    text = (f"# authority list v7\nsha256 {SHA.upper()} img-1\nmd5 {MD5}\npdq {'c' * 64} img-3  # comment\n"
            "sha1 0123 x\nsha256 abc\npdq " + "z" * 64 + "\n\n")
    parsed = parse_hashes(text)
    assert [(e.kind, e.value, e.entry_id, e.line) for e in parsed.entries] == [
        ("sha256", SHA, "img-1", 2), ("md5", MD5, "3", 3), ("pdq", "c" * 64, "img-3", 4)]
    assert [line for line, _ in parsed.bad] == [5, 6, 7]
    assert "64 hexadecimal digits" in parsed.bad[1][1]
    assert parsed.lines == 6


def test_exact_match_names_list_category_and_entry_only() -> None:
    index = HashIndex([("sources/authority/csam.hashes", "csam",
                        [HashEntry("sha256", SHA, "img-1", 2), HashEntry("md5", MD5, "img-2", 3)])])
    m = index.match_exact(SHA, "0" * 32)
    assert m is not None and (m.list_id, m.category, m.entry_id, m.line, m.kind) == (
        "sources/authority/csam.hashes", "csam", "img-1", 2, "sha256")
    assert index.match_exact("0" * 64, MD5).entry_id == "img-2"  # type: ignore[union-attr]
    assert index.match_exact("0" * 64, "0" * 32) is None
    assert index.count == 2 and index.pdq_count == 0 and bool(index)
    assert not EMPTY and EMPTY.match_pdq([1], 31) is None


def test_pdq_matches_within_the_threshold_and_picks_the_nearest() -> None:
    rng = random.Random(7)
    listed = [rng.getrandbits(256) for _ in range(500)]
    index = HashIndex([("l", "csam", [HashEntry("pdq", f"{v:064x}", f"e{i}", i + 1) for i, v in enumerate(listed)])])
    target = listed[123]
    for distance in (0, 1, 17, 31):
        query = flip(target, rng.sample(range(256), distance))
        m = index.match_pdq([query], 31)
        assert m is not None and m.entry_id == "e123" and m.distance == distance and m.kind == "pdq"
    far = flip(target, rng.sample(range(256), 32))
    assert index.match_pdq([far], 31) is None
    assert index.match_pdq([far], 32) is not None  # the threshold is a setting
    # Any of the query hashes (rotations and mirror images) may match; the nearest wins.
    m = index.match_pdq([rng.getrandbits(256), flip(target, [0, 255, 128]), flip(target, [5])], 31)
    assert m is not None and m.distance == 1


def test_pdq_matching_agrees_with_a_plain_loop() -> None:
    """The vectorised distance is the population count of the XOR, bit for bit."""
    rng = random.Random(11)
    listed = [rng.getrandbits(256) for _ in range(200)]
    index = HashIndex([("l", "csam", [HashEntry("pdq", f"{v:064x}", str(i), i) for i, v in enumerate(listed)])])
    for _ in range(50):
        q = flip(listed[rng.randrange(200)], rng.sample(range(256), rng.randrange(60)))
        expected = min((v ^ q).bit_count() for v in listed)
        m = index.match_pdq([q], 255)
        assert m is not None and m.distance == expected


def test_match_image_prefers_the_exact_hash() -> None:
    index = HashIndex([("a", "csam", [HashEntry("sha256", SHA, "x", 1)]), ("b", "csam", [pdq(5)])])
    assert match_image(index, SHA, MD5, (5,), 31).kind == "sha256"  # type: ignore[union-attr]
    assert match_image(index, "0" * 64, MD5, (4,), 31).list_id == "b"  # type: ignore[union-attr]
    assert match_image(index, "0" * 64, MD5, (), 31) is None


@pytest.mark.parametrize("bits", [[1, 0] * 128, [0] * 255 + [1], [1] + [0] * 255])
def test_pdq_bits_read_most_significant_first(bits: list[int]) -> None:
    """pdqhash returns bit 255 first, so the hex reads as Meta's reference prints it."""
    value = pdq_int(bits)
    assert value.bit_length() <= 256
    assert [int(c) for c in f"{value:0256b}"] == bits
    assert pdq_hex(bits) == f"{value:064x}"


@pytest.mark.parametrize("threshold", [0, 15, 16, 31, 40, 63])
def test_the_multi_index_finds_what_comparing_with_all_finds(threshold: int) -> None:
    rng = random.Random(threshold)
    listed = [rng.getrandbits(256) for _ in range(3000)]
    index = HashIndex([("l", "csam", [HashEntry("pdq", f"{v:064x}", str(i), i) for i, v in enumerate(listed)])])
    assert not index.large  # small: compares with all by default
    for _ in range(40):
        base = listed[rng.randrange(len(listed))]
        queries = [flip(base, rng.sample(range(256), rng.randrange(threshold + 8))) for _ in range(3)]
        queries.append(rng.getrandbits(256))
        brute = index.match_pdq(queries, threshold, multi=False)
        multi = index.match_pdq(queries, threshold, multi=True)
        assert (brute is None) == (multi is None)
        if brute is not None and multi is not None:
            assert brute.distance == multi.distance <= threshold


def test_large_lists_use_the_multi_index() -> None:
    rng = random.Random(5)
    listed = [rng.getrandbits(256) for _ in range(13_000)]
    index = HashIndex([("l", "csam", [HashEntry("pdq", f"{v:064x}", str(i), i) for i, v in enumerate(listed)])])
    assert index.large
    m = index.match_pdq([flip(listed[777], rng.sample(range(256), 31))], 31)
    assert m is not None and m.entry_id == "777" and m.distance == 31
    assert index.match_pdq([flip(listed[777], rng.sample(range(256), 40))], 31) is None
