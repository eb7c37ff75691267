"""Flat message catalogues (`<area>_<thing>_<title|desc>` keys), English fallback."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping

_FIELD = re.compile(r"\{([a-z_][a-z0-9_]*)\}")

LANGUAGES = ("vi", "en")


def placeholders(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


class Catalog:
    def __init__(self, catalogs: Mapping[str, Mapping[str, str]]):
        self.catalogs = {lang: dict(c) for lang, c in catalogs.items()}

    def t(self, lang: str, key: str, **values: object) -> str:
        text = self.catalogs.get(lang, {}).get(key)
        if text is None:
            text = self.catalogs.get("en", {}).get(key, key)
        try:
            return text.format(**values) if values else text
        except (KeyError, IndexError, ValueError):
            return text

    def has(self, key: str) -> bool:
        return key in self.catalogs.get("en", {})


def parity_problems(catalogs: Mapping[str, Mapping[str, str]], base: str = "en") -> list[str]:
    """Keys or placeholders that differ between the base catalogue and the others."""
    problems: list[str] = []
    ref = catalogs[base]
    for lang, cat in catalogs.items():
        if lang == base:
            continue
        for key in sorted(set(ref) - set(cat)):
            problems.append(f"{lang}: missing key {key}")
        for key in sorted(set(cat) - set(ref)):
            problems.append(f"{lang}: extra key {key}")
        for key in sorted(set(ref) & set(cat)):
            if placeholders(ref[key]) != placeholders(cat[key]):
                problems.append(
                    f"{lang}: {key} has placeholders {sorted(placeholders(cat[key]))}, "
                    f"{base} has {sorted(placeholders(ref[key]))}"
                )
    return problems
