"""Bar charts drawn on the server as SVG (no script, no external asset)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float


def bars(data: list[tuple[str, int]], width: float = 600, height: float = 160) -> list[Bar]:
    """Geometry for an SVG bar chart; the template draws the rectangles and labels."""
    if not data:
        return []
    top = max(v for _, v in data) or 1
    slot = width / len(data)
    out = []
    for i, (label, value) in enumerate(data):
        h = (value / top) * (height - 20)
        out.append(Bar(label, value, i * slot + slot * 0.1, height - h, slot * 0.8, h))
    return out
