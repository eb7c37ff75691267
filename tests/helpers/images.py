"""Pictures made in the tests with Pillow (shapes, gradients, text), and the
altered copies a perceptual hash must still recognise."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageFilter


def picture(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A photo-like picture: a gradient background, shapes and a line of text, all from `seed`."""
    r = random.Random(seed)
    w, h = size
    a, b = [tuple(r.randrange(256) for _ in range(3)) for _ in range(2)]
    im = Image.linear_gradient("L").resize((w, h)).rotate(r.randrange(360), expand=False)
    im = Image.merge("RGB", [im.point(lambda v, i=i: a[i] + (b[i] - a[i]) * v // 255) for i in range(3)])
    d = ImageDraw.Draw(im)
    for i in range(14):
        x, y = r.randrange(w), r.randrange(h)
        box = [x, y, x + r.randrange(w // 10, w // 3), y + r.randrange(h // 10, h // 3)]
        fill = tuple(r.randrange(256) for _ in range(3))
        (d.ellipse if i % 3 == 0 else d.rectangle if i % 3 == 1 else d.chord)(box, fill=fill, **(
            {"start": 0, "end": r.randrange(90, 300)} if i % 3 == 2 else {}))
    d.text((w // 10, h // 2), f"Bai hoc so {seed}", fill=(255, 255, 255), font_size=max(12, h // 10))
    return im.filter(ImageFilter.GaussianBlur(1))


def encode(im: Image.Image, fmt: str = "JPEG", **kw: object) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **({"quality": 90} if fmt == "JPEG" and not kw else kw))
    return out.getvalue()


def resized(im: Image.Image, factor: float) -> Image.Image:
    return im.resize((max(1, int(im.width * factor)), max(1, int(im.height * factor))), Image.Resampling.LANCZOS)


def cropped(im: Image.Image, fraction: float) -> Image.Image:
    """Cut `fraction` of the width and height off, half on each side."""
    dx, dy = int(im.width * fraction / 2), int(im.height * fraction / 2)
    return im.crop((dx, dy, im.width - dx, im.height - dy))


def flat(colour: tuple[int, int, int] = (200, 200, 200), size: tuple[int, int] = (320, 240)) -> Image.Image:
    return Image.new("RGB", size, colour)
