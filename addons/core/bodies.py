"""Bodies as a browser would read them, within a bounded amount of work.

- `decode` undoes Content-Encoding (gzip, deflate, br, zstd, and chains of
  them) streaming, and stops as soon as the decoded bytes pass a cap: an 800 KB
  gzip that inflates to 800 MB costs at most `cap` bytes of memory, never the
  800 MB.
- `sniff_image` and `looks_like_html` decide by the bytes, not the label
  (WHATWG MIME Sniffing): a listed image served as `application/octet-stream`,
  `text/plain` or with no type is still an image to the browser's `<img>`, and
  an HTML page without a Content-Type is still rendered as HTML.

Pure: no I/O.
"""

from __future__ import annotations

import zlib

import brotli

try:  # Python 3.14's compression.zstd, or its backport (a mitmproxy dependency)
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - Python before 3.14
    from backports import zstd  # type: ignore[import-not-found,no-redef]

CHUNK = 1 << 16


class TooLarge(ValueError):
    """The decoded body is larger than the cap."""


class BadEncoding(ValueError):
    """The body does not decode with its Content-Encoding."""


class _Full(Exception):
    """Internal: the decoder produced more than the cap (its output so far is kept)."""

    def __init__(self, out: bytearray):
        self.out = out


def _check(out: bytearray, cap: int) -> None:
    if len(out) > cap:
        raise _Full(out)


def _gzip(data: bytes, cap: int) -> bytearray:
    out = bytearray()
    rest = data
    while rest:
        d = zlib.decompressobj(wbits=47)  # gzip or zlib header, automatically
        pending = rest
        while pending:
            out += d.decompress(pending, cap + 1 - len(out))
            _check(out, cap)
            pending = d.unconsumed_tail
            if d.eof:
                break
        if not d.eof:
            out += d.flush(cap + 1 - len(out))  # a truncated stream: what it held
            _check(out, cap)
            break
        rest = d.unused_data.lstrip(b"\x00")  # another gzip member follows
    return out


def _deflate(data: bytes, cap: int) -> bytearray:
    for wbits in (15, -15):  # zlib-wrapped (the standard) or raw deflate (what some servers send)
        d = zlib.decompressobj(wbits=wbits)
        out = bytearray()
        try:
            pending = data
            while pending:
                out += d.decompress(pending, cap + 1 - len(out))
                _check(out, cap)
                pending = d.unconsumed_tail
                if d.eof:
                    break
            return out
        except zlib.error:
            continue
    raise BadEncoding("not deflate data")


def _brotli(data: bytes, cap: int) -> bytearray:
    d = brotli.Decompressor()
    out = bytearray()
    for start in range(0, len(data), CHUNK):
        out += d.process(data[start:start + CHUNK], output_buffer_limit=cap + 1 - len(out))
        while len(out) <= cap and not d.can_accept_more_data():
            out += d.process(b"", output_buffer_limit=cap + 1 - len(out))
        _check(out, cap)
    return out


def _zstd(data: bytes, cap: int) -> bytearray:
    out = bytearray()
    rest = data
    while rest:
        d = zstd.ZstdDecompressor()
        out += d.decompress(rest, max_length=cap + 1 - len(out))
        while len(out) <= cap and not d.eof and not d.needs_input:
            out += d.decompress(b"", max_length=cap + 1 - len(out))
        _check(out, cap)
        if not d.eof:
            break
        rest = d.unused_data
    return out


_DECODERS = {"gzip": _gzip, "x-gzip": _gzip, "deflate": _deflate, "br": _brotli, "zstd": _zstd}


def decode(raw: bytes, content_encoding: str, cap: int, truncate: bool = False) -> bytes:
    """The body with its Content-Encoding undone (the last coding first), at most
    `cap` bytes. Past the cap: TooLarge, or with `truncate` its first `cap` bytes
    (what a scan of the page's start needs). BadEncoding for a broken body or an
    unknown coding."""
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    body: bytes | bytearray = raw
    for i, coding in enumerate(reversed(codings)):
        if coding == "identity":
            continue
        decoder = _DECODERS.get(coding)
        if decoder is None:
            raise BadEncoding(f"unknown content coding {coding!r}")
        last = i == len(codings) - 1
        try:
            body = decoder(bytes(body), cap)
        except _Full as full:
            if not (truncate and last):  # a prefix of an inner coding cannot be decoded further
                raise TooLarge(f"more than {cap} bytes once decoded") from None
            body = full.out
        except (zlib.error, brotli.error, zstd.ZstdError, EOFError) as e:
            raise BadEncoding(f"the body is not valid {coding}: {e}") from None
    if len(body) > cap:
        if not truncate:
            raise TooLarge(f"more than {cap} bytes")
    return bytes(body[:cap])


# ----------------------------------------------------------------------------- sniffing

_IMAGES = (
    (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"), (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"), (b"BM", "image/bmp"), (b"\x00\x00\x01\x00", "image/x-icon"),
    (b"\x00\x00\x02\x00", "image/x-icon"),
)


def sniff_image(head: bytes) -> str | None:
    """The image type a browser finds in these first bytes (WHATWG image type
    pattern matching, plus the AVIF/HEIF brands of an ISO-BMFF `ftyp` box), or None."""
    for magic, mime in _IMAGES:
        if head.startswith(magic):
            return mime
    if head[:4] == b"RIFF" and head[8:14] == b"WEBPVP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis", b"heic", b"heix", b"mif1", b"msf1"):
        return "image/avif" if head[8:11] == b"avi" else "image/heif"
    return None


_HTML_TAGS = (b"<!DOCTYPE HTML", b"<HTML", b"<HEAD", b"<SCRIPT", b"<IFRAME", b"<H1", b"<DIV", b"<FONT",
              b"<TABLE", b"<A", b"<STYLE", b"<TITLE", b"<B", b"<BODY", b"<BR", b"<P", b"<!--")
_WHITESPACE = b"\t\n\x0c\r "
_TAG_END = (b" ", b">")

# Types a browser sniffs as if there were none (WHATWG: "unknown" types), and the
# generic binary type, which some browsers render when the bytes are a page.
GENERIC_TYPES = frozenset({"", "unknown/unknown", "application/unknown", "*/*", "application/octet-stream",
                           "binary/octet-stream", "application/x-unknown"})


def looks_like_html(head: bytes) -> bool:
    """WHATWG "rules for identifying an unknown MIME type": an HTML tag after
    leading whitespace (a UTF-8 byte order mark allowed), followed by a space or '>'."""
    text = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    text = text.lstrip(_WHITESPACE)[:64].upper()
    for tag in _HTML_TAGS:
        if text.startswith(tag):
            if tag == b"<!--":
                return True
            nxt = text[len(tag):len(tag) + 1]
            if nxt in _TAG_END:
                return True
    return False
