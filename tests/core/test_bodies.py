"""core.bodies: decoding within a cap, and sniffing by the bytes (not the label)."""

from __future__ import annotations

import gzip
import random
import zlib

import brotli
import pytest

from addons.core import bodies
from addons.core.bodies import BadEncoding, TooLarge, decode, looks_like_html, sniff_image

try:
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:
    from backports import zstd  # type: ignore[import-not-found,no-redef]

PAGE = b"<html><body>" + b"hello " * 2000 + b"</body></html>"


def raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(wbits=-15)
    return c.compress(data) + c.flush()


ENCODERS = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": zstd.compress,
}


@pytest.mark.parametrize("coding", sorted(ENCODERS))
def test_each_coding_round_trips(coding: str) -> None:
    assert decode(ENCODERS[coding](PAGE), coding, cap=len(PAGE)) == PAGE


def test_raw_deflate_is_accepted_as_browsers_do() -> None:
    assert decode(raw_deflate(PAGE), "deflate", cap=1 << 20) == PAGE


def test_identity_and_no_coding_pass_through() -> None:
    assert decode(PAGE, "", cap=1 << 20) == PAGE
    assert decode(PAGE, "identity", cap=1 << 20) == PAGE


def test_a_chain_is_undone_last_coding_first() -> None:
    body = brotli.compress(gzip.compress(PAGE))  # Content-Encoding: gzip, br
    assert decode(body, "gzip, br", cap=1 << 20) == PAGE
    with pytest.raises(BadEncoding):
        decode(body, "br, gzip", cap=1 << 20)


def test_coding_names_are_case_insensitive_and_spaced() -> None:
    assert decode(gzip.compress(PAGE), " GZip ", cap=1 << 20) == PAGE


def test_concatenated_gzip_members_are_all_read() -> None:
    assert decode(gzip.compress(b"one ") + gzip.compress(b"two"), "gzip", cap=100) == b"one two"


@pytest.mark.parametrize("coding", sorted(ENCODERS))
def test_a_bomb_stops_at_the_cap(coding: str) -> None:
    """64 MB of zeros compress to kilobytes; decoding stops just past the cap."""
    bomb = ENCODERS[coding](bytes(64 << 20))
    assert len(bomb) < 1 << 20
    with pytest.raises(TooLarge):
        decode(bomb, coding, cap=1 << 20)
    head = decode(bomb, coding, cap=1 << 20, truncate=True)
    assert head == bytes(1 << 20)


def test_an_inner_coding_past_the_cap_is_too_large_even_with_truncate() -> None:
    """A prefix of the outer coding's output cannot be decoded by the inner one."""
    noise = random.Random(1).randbytes(200_000)  # incompressible: the gzip layer is 200 KB
    body = brotli.compress(gzip.compress(noise))
    with pytest.raises(TooLarge):
        decode(body, "gzip, br", cap=1 << 16, truncate=True)


def test_an_identity_body_past_the_cap() -> None:
    with pytest.raises(TooLarge):
        decode(PAGE, "", cap=10)
    assert decode(PAGE, "", cap=10, truncate=True) == PAGE[:10]


def test_a_truncated_gzip_yields_what_it_held() -> None:
    rng = random.Random(2)
    text = bytes(rng.choice(b"abcdefghij ") for _ in range(50_000))
    body = gzip.compress(text)[:-40]
    out = decode(body, "gzip", cap=1 << 20)
    assert text.startswith(out) and len(out) > 40_000


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_garbage_is_a_bad_encoding(coding: str) -> None:
    with pytest.raises(BadEncoding):
        decode(b"this is not compressed at all, not even a little" * 4, coding, cap=1 << 20)


def test_an_unknown_coding_is_refused_not_passed() -> None:
    with pytest.raises(BadEncoding, match="unknown content coding"):
        decode(PAGE, "compress", cap=1 << 20)


def test_chunked_brotli_output_is_bounded_per_step() -> None:
    """Brotli's output limit is honoured within one input chunk as well."""
    bomb = brotli.compress(bytes(bodies.CHUNK * 400))
    assert len(decode(bomb, "br", cap=5000, truncate=True)) == 5000


# ----------------------------------------------------------------------------- sniffing

@pytest.mark.parametrize(("head", "mime"), [
    (b"GIF89a\x01\x00", "image/gif"),
    (b"GIF87a", "image/gif"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
    (b"BM\x00\x00", "image/bmp"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
    (b"\x00\x00\x00\x1cftypavif\x00", "image/avif"),
    (b"\x00\x00\x00\x1cftypheic\x00", "image/heif"),
    (b"\x00\x00\x01\x00\x01\x00", "image/x-icon"),
])
def test_images_are_known_by_their_bytes(head: bytes, mime: str) -> None:
    assert sniff_image(head) == mime


@pytest.mark.parametrize("head", [b"", b"<html>", b"%PDF-1.7", b"RIFF\x00\x00\x00\x00WAVEfmt ", b"PK\x03\x04"])
def test_non_images_are_not_images(head: bytes) -> None:
    assert sniff_image(head) is None


@pytest.mark.parametrize("head", [
    b"<!DOCTYPE html><html>", b"  \n<html lang=vi>", b"\xef\xbb\xbf<HTML>", b"<body>", b"<p>hi",
    b"<!-- comment -->", b"<script>x</script>", b"<a href=x>", b"<title>t</title>", b"<br>",
])
def test_pages_are_known_by_their_bytes(head: bytes) -> None:
    assert looks_like_html(head)


@pytest.mark.parametrize("head", [
    b"", b"plain text", b"{\"json\": true}", b"<?xml version='1.0'?>", b"<abbr>", b"<pre>", b"\x89PNG",
    b"<htmlx>",
])
def test_other_bytes_are_not_pages(head: bytes) -> None:
    assert not looks_like_html(head)


def test_generic_types_include_no_type_and_octet_stream() -> None:
    assert "" in bodies.GENERIC_TYPES and "application/octet-stream" in bodies.GENERIC_TYPES
    assert "text/html" not in bodies.GENERIC_TYPES
