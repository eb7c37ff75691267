"""Personal information in what a child is about to send: Vietnamese mobile
numbers, 12-digit citizen identity numbers (CCCD), e-mail addresses and home
addresses. Only the *kinds* found are reported; values are never returned,
logged or stored."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import parse_qsl

KINDS = ("phone", "cccd", "email", "address")

_PHONE = re.compile(r"(?<![\d+])(?:\+?84|0)[\s.-]?(?:3|5|7|8|9)\d(?:[\s.-]?\d){7}(?!\d)")
_CCCD = re.compile(r"(?<!\d)0\d{2}[0-3]\d{2}\d{6}(?!\d)")  # province code, century/sex digit, year, serial
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# "số nhà 12", "12 đường Lê Lợi", "phường 5, quận 3", "ngõ 45", "hẻm 12", "thôn", "xã ..."
_ADDRESS = re.compile(
    r"(?:(?:số\s*nhà|ngõ|ngách|hẻm|kiệt)\s*\d+)|(?:\d+[a-z]?\s*(?:/\d+\s*)?(?:đường|phố)\s+\w+)"
    r"|(?:(?:phường|xã|thị\s*trấn)\s+[\w\s]{1,30}?,\s*(?:quận|huyện|thị\s*xã|thành\s*phố))",
    re.IGNORECASE)


def _text(body: bytes, content_type: str) -> str:
    raw = body.decode("utf-8", "replace")
    if "x-www-form-urlencoded" in content_type:
        try:
            raw = " \n ".join(v for _, v in parse_qsl(raw, keep_blank_values=True))
        except ValueError:
            pass
    return unicodedata.normalize("NFC", raw)


def find_kinds(body: bytes, content_type: str) -> tuple[str, ...]:
    """The kinds of personal information in a form or JSON body (never the values)."""
    if not body:
        return ()
    text = _text(body[:262_144], content_type.lower())
    found = []
    if _PHONE.search(text):
        found.append("phone")
    if _CCCD.search(text):
        found.append("cccd")
    if _EMAIL.search(text):
        found.append("email")
    if _ADDRESS.search(text):
        found.append("address")
    return tuple(found)
