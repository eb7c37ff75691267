"""Personal information in what a child is about to send: Vietnamese mobile
numbers, 12-digit citizen identity numbers (CCCD), e-mail addresses and home
addresses. Only the *kinds* found are reported; values are never returned,
logged or stored.

Every pattern runs in time linear in the body, whatever the body is: each
regular expression has bounded repetitions and a look-behind that lets it start
only at the beginning of a run of digits, and e-mail addresses are found by a
hand-written scan around each '@' (the obvious regular expression backtracks
quadratically on a long run of letters and digits, which any app's JSON carries).
At most MAX_BYTES of a body are read. tests/core/test_pii.py compares the time on
1 MB adversarial bodies with a benign body of the same size.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import parse_qsl

KINDS = ("phone", "cccd", "email", "address")
MAX_BYTES = 262_144

# Numbers stand apart from letters and digits: a run of digits inside a hex token or
# an ID (`a3f0912345678e`) is not a phone number.
_PHONE = re.compile(r"(?<![0-9A-Za-z+])(?:\+?84|0)[\s.-]?[35789]\d(?:[\s.-]?\d){7}(?![0-9A-Za-z])")
_CCCD = re.compile(r"(?<![0-9A-Za-z])0\d{2}[0-3]\d{2}\d{6}(?![0-9A-Za-z])")  # province, century/sex, year, serial
# "số nhà 12", "12 đường Lê Lợi", "phường 5, quận 3", "ngõ 45", "hẻm 12", "thôn", "xã ..."
_ADDRESS = re.compile(
    r"(?:(?:số\s{0,3}nhà|ngõ|ngách|hẻm|kiệt)\s{0,3}\d)"
    r"|(?:(?<!\d)\d{1,5}[a-z]?\s{0,3}(?:/\d{1,5}\s{0,3})?(?:đường|phố)\s{1,3}\w)"
    r"|(?:(?:phường|xã|thị\s{0,3}trấn)\s{1,3}[\w\s]{1,30}?,\s{0,3}(?:quận|huyện|thị\s{0,3}xã|thành\s{0,3}phố))",
    re.IGNORECASE)

_LOCAL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-")
_DOMAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-")
_MAX_DOMAIN = 253


def has_email(text: str) -> bool:
    """An address of the form local@domain.tld (a 2+ letter top-level label), found in
    one pass: each '@' looks at one character before it and at most 253 after it."""
    at = text.find("@")
    while at >= 0:
        if at > 0 and text[at - 1] in _LOCAL:
            end = at + 1
            limit = min(len(text), at + 1 + _MAX_DOMAIN)
            while end < limit and text[end] in _DOMAIN:
                end += 1
            domain = text[at + 1:end]
            dot = domain.find(".", 1)
            while dot > 0:
                if domain[dot + 1:dot + 3].isalpha() and domain[dot + 1:dot + 3].isascii() \
                        and len(domain[dot + 1:dot + 3]) == 2:
                    return True
                dot = domain.find(".", dot + 1)
        at = text.find("@", at + 1)
    return False


def _text(body: bytes, content_type: str) -> str:
    raw = body.decode("utf-8", "replace")
    if "x-www-form-urlencoded" in content_type:
        try:
            raw = " \n ".join(v for _, v in parse_qsl(raw, keep_blank_values=True, max_num_fields=10_000))
        except ValueError:
            pass
    return unicodedata.normalize("NFC", raw)


def find_kinds(body: bytes, content_type: str) -> tuple[str, ...]:
    """The kinds of personal information in a form or JSON body (never the values)."""
    if not body:
        return ()
    text = _text(body[:MAX_BYTES], content_type.lower())
    found = []
    if _PHONE.search(text):
        found.append("phone")
    if _CCCD.search(text):
        found.append("cccd")
    if has_email(text):
        found.append("email")
    if _ADDRESS.search(text):
        found.append("address")
    return tuple(found)
