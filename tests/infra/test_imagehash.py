"""Hashing pictures generated with Pillow: altered copies of a listed picture
match by PDQ, unrelated pictures do not, exact hashes match only the same bytes."""

from __future__ import annotations

import itertools

import pytest
from PIL import Image

from addons.core.hashes import HashIndex, match_image, parse_hashes
from addons.infra.imagehash import (
    MAX_PIXELS,
    exact_hashes,
    hash_image,
    image_size,
    list_lines,
    pdq_of,
)
from tests.helpers.images import cropped, encode, flat, picture, resized

THRESHOLD = 31  # the default of image_pdq_threshold


@pytest.fixture(scope="module")
def listed() -> dict[str, Image.Image]:
    return {f"img-{seed}": picture(seed) for seed in range(6)}


@pytest.fixture(scope="module")
def index(listed: dict[str, Image.Image]) -> HashIndex:
    text = "\n".join(line for name, im in listed.items() for line in list_lines(encode(im), name))
    parsed = parse_hashes(text)
    assert not parsed.bad and len(parsed.entries) == 3 * len(listed)
    return HashIndex([("sources/authority/csam.hashes", "csam", parsed.entries)])


def check(index: HashIndex, data: bytes) -> tuple[str, str, int] | None:
    h = hash_image(data)
    m = match_image(index, h.sha256, h.md5, h.pdq, THRESHOLD)
    return (m.entry_id, m.kind, m.distance) if m else None


VARIANTS = {
    "resized to half": lambda im: encode(resized(im, 0.5)),
    "enlarged": lambda im: encode(resized(im, 1.7)),
    "re-encoded as low-quality JPEG": lambda im: encode(im, quality=35),
    "converted to PNG": lambda im: encode(im, "PNG"),
    "converted to WebP": lambda im: encode(im, "WEBP", quality=70),
    "slightly cropped (1%)": lambda im: encode(cropped(im, 0.01)),
    "mirrored": lambda im: encode(im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
    "rotated a quarter turn": lambda im: encode(im.rotate(90, expand=True)),
    "thumbnail, cropped and re-encoded": lambda im: encode(cropped(resized(im, 0.4), 0.01), quality=60),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_altered_copies_match_by_pdq(listed: dict[str, Image.Image], index: HashIndex, variant: str) -> None:
    for name, im in listed.items():
        found = check(index, VARIANTS[variant](im))
        assert found is not None, (variant, name)
        entry, kind, distance = found
        assert entry == name and kind == "pdq" and distance <= THRESHOLD


def test_the_same_bytes_match_exactly(listed: dict[str, Image.Image], index: HashIndex) -> None:
    for name, im in listed.items():
        assert check(index, encode(im)) == (name, "sha256", 0)


def test_exact_hashes_match_only_the_same_bytes(listed: dict[str, Image.Image]) -> None:
    data = encode(listed["img-0"])
    sha, md5 = exact_hashes(data)
    index = HashIndex([("l", "csam", parse_hashes(f"sha256 {sha} a\nmd5 {md5} b\n").entries)])
    assert index.match_exact(*exact_hashes(data)) is not None
    for other in (data + b"\0", encode(listed["img-0"], quality=89), encode(listed["img-0"], "PNG")):
        assert index.match_exact(*exact_hashes(other)) is None  # a picture that looks the same: no exact match


def test_unrelated_pictures_do_not_match(index: HashIndex) -> None:
    for seed in range(100, 130):
        assert check(index, encode(picture(seed))) is None, seed
    for size in ((200, 200), (1024, 300)):
        assert check(index, encode(picture(7, size))) is None


def test_unrelated_pictures_are_far_apart() -> None:
    """Why 31 is safe: independent pictures differ by about half of the 256 bits."""
    hashes = [hash_image(encode(picture(seed))).pdq[0] for seed in range(200, 216)]
    distances = [(a ^ b).bit_count() for a, b in itertools.combinations(hashes, 2)]
    assert min(distances) > 2 * THRESHOLD
    assert 100 < sum(distances) / len(distances) < 156


def test_plain_pictures_and_non_pictures_get_no_pdq() -> None:
    pdq, quality, error = pdq_of(encode(flat()))
    assert pdq == () and quality < 50 and "quality" in error
    pdq, quality, error = pdq_of(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    assert pdq == () and "not a picture" in error
    assert pdq_of(encode(picture(1))[:500])[0] == ()  # truncated
    h = hash_image(b"GIF89a not really")
    assert h.pdq == () and len(h.sha256) == 64 and len(h.md5) == 32


def test_decompression_bombs_are_not_decoded() -> None:
    side = int(MAX_PIXELS ** 0.5) + 100
    bomb = encode(Image.new("L", (side, side)), "PNG", optimize=True)
    assert len(bomb) < 200_000
    pdq, _, error = pdq_of(bomb)
    assert pdq == () and "too large" in error
    assert image_size(bomb) == (side, side)
    assert image_size(b"nothing") == (None, None)


def test_list_lines_give_the_reference_hex(listed: dict[str, Image.Image]) -> None:
    data = encode(listed["img-1"])
    lines = list_lines(data, "img-1")
    assert [line.split()[0] for line in lines] == ["sha256", "md5", "pdq"]
    assert lines[2].split()[1] == f"{hash_image(data).pdq[0]:064x}"
    assert list_lines(encode(flat()), "plain")[-1].startswith("md5 ")  # no PDQ line for a plain picture


@pytest.mark.parametrize("fmt, size", [("JPEG", (1200, 800)), ("JPEG", (3000, 2000)), ("PNG", (1600, 1200)),
                                       ("JPEG", (300, 200))])
def test_hashing_at_reduced_size_stays_close_to_the_full_size_hash(fmt: str, size: tuple[int, int]) -> None:
    """Lists are made with the reference at full size; we decode large pictures smaller."""
    import io

    import numpy as np
    import pdqhash

    from addons.core.hashes import pdq_int

    data = encode(picture(size[0] + size[1], size), fmt)
    full = pdq_int(pdqhash.compute(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))[0])
    ours = hash_image(data).pdq[0]
    assert (ours ^ full).bit_count() <= 10
