"""Hashing an image body: SHA-256 and MD5 of the bytes, and the PDQ perceptual
hash of the picture (Meta's reference algorithm through the `pdqhash` bindings;
Pillow decodes, numpy carries the pixels).

Only the hashes leave this module; the image is never stored. Runs in a worker
process of the HashMatch addon (or in a thread when `image_hash_workers` is 0).
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from ..core.hashes import pdq_int

# PDQ hashes of low quality (flat or tiny pictures) match too much to be trusted:
# Meta's guidance is to ignore hashes with a quality under 50.
PDQ_MIN_QUALITY = 50
LOW_QUALITY = "PDQ quality"
# Pictures are hashed at about this size on the longer side (JPEG decodes at a
# reduced scale directly; other formats are averaged down). PDQ itself works on
# 64x64; measured on test pictures, hashes stay within 8 bits (3 on average) of
# the full-size hash, at a third of the time for a 1-2 megapixel photo.
DECODE_SIDE = 512
# Decompression bombs: a small file that decodes to a huge picture is not hashed.
MAX_PIXELS = 50_000_000


@dataclass(frozen=True, slots=True)
class ImageHashes:
    sha256: str
    md5: str
    pdq: tuple[int, ...] = ()  # 256-bit hashes as integers: the picture's, then its 7 rotations and mirror images;
    # empty when not computed or of low quality
    quality: int = 0
    error: str = ""  # why there is no PDQ hash, in plain words (logs only)


def exact_hashes(data: bytes) -> tuple[str, str]:
    return hashlib.sha256(data).hexdigest(), hashlib.md5(data, usedforsecurity=False).hexdigest()


def warm_up() -> None:
    """Import the decoders ahead of the first image (a worker process's initializer)."""
    import numpy  # noqa: F401
    import pdqhash  # noqa: F401
    from PIL import Image

    Image.init()


def pdq_of(data: bytes) -> tuple[tuple[int, ...], int, str]:
    """(PDQ hashes, quality, error) of an encoded picture: the picture's hash, then those of
    its rotations by 90, 180 and 270 degrees and its four mirror images (PDQ's dihedral
    hashes, at the cost of one), so a flipped or rotated copy matches too."""
    import numpy as np
    import pdqhash
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                if im.width * im.height > MAX_PIXELS:
                    return (), 0, f"picture too large to hash ({im.width}x{im.height})"
                scale = DECODE_SIDE / max(im.width, im.height)
                if scale < 1:  # JPEG: decode at 1/2, 1/4 or 1/8 scale, the longer side still >= DECODE_SIDE
                    im.draft("RGB", (max(1, int(im.width * scale)), max(1, int(im.height * scale))))
                rgb = im.convert("RGB")
                factor = max(rgb.width, rgb.height) // DECODE_SIDE
                if factor > 1:  # other formats: average blocks of pixels down to about DECODE_SIDE
                    rgb = rgb.reduce(factor)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        return (), 0, f"not a picture Pillow can read ({type(e).__name__})"
    vectors, quality = pdqhash.compute_dihedral(np.asarray(rgb))
    if quality < PDQ_MIN_QUALITY:
        return (), int(quality), f"{LOW_QUALITY} {quality} under {PDQ_MIN_QUALITY}"
    return tuple(pdq_int(bits) for bits in vectors), int(quality), ""


def image_size(data: bytes | None) -> tuple[int | None, int | None]:
    """Width and height from the picture's header (nothing is decoded); (None, None) if unknown."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data or b"")) as im:
                return im.width, im.height
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None, None


def hash_image(data: bytes, with_pdq: bool = True) -> ImageHashes:
    sha256, md5 = exact_hashes(data)
    if not with_pdq:
        return ImageHashes(sha256, md5)
    pdq, quality, error = pdq_of(data)
    return ImageHashes(sha256, md5, pdq, quality, error)


def list_lines(data: bytes, entry_id: str) -> list[str]:
    """The hash-list lines for one picture (`schoolgate lists hash`)."""
    h = hash_image(data)
    lines = [f"sha256 {h.sha256} {entry_id}", f"md5 {h.md5} {entry_id}"]
    if h.pdq:
        lines.append(f"pdq {h.pdq[0]:064x} {entry_id}")
    return lines
