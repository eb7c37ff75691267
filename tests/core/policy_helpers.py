"""Compile small inline policies for the core tests."""

from __future__ import annotations

from addons.core.categories import Categories, parse_categories
from addons.core.errors import Collector, ConfigErrors
from addons.core.policy import PolicySet, compile_policies
from addons.core.yamlsrc import parse

CATEGORIES_YAML = """\
categories:
  adult: {name: {vi: Người lớn, en: Adult}}
  gambling: {name: {vi: Cờ bạc, en: Gambling}}
  games: {name: {vi: Trò chơi, en: Games}}
  social_networks: {name: {vi: Mạng xã hội, en: Social}, aliases: [social]}
  csam: {name: {vi: CSAM, en: CSAM}, locked: true}
"""

BASE = """\
schedules:
  school-day: {days: mon-fri, from: "07:00", to: "17:00"}
groups:
  primary: {categories: {adult: block}}
  lower-secondary: {categories: {adult: block}}
  upper-secondary: {}
  staff: {}
  guest: {}
  default: {inherits: primary}
"""


def categories() -> Categories:
    c = Collector()
    data, errs = parse(CATEGORIES_YAML, "categories.yaml")
    assert not errs
    cats = parse_categories(data, "categories.yaml", c)
    assert not c.items
    return cats


def compile_texts(*texts: str, base: bool = True) -> tuple[PolicySet, Collector]:
    c = Collector()
    files = []
    for i, text in enumerate(((BASE,) if base else ()) + texts):
        data, errs = parse(text, f"p{i}.yaml")
        c.extend(errs)
        files.append((f"p{i}.yaml", data))
    return compile_policies(files, categories(), c), c


def compile_ok(*texts: str, base: bool = True) -> PolicySet:
    policy, c = compile_texts(*texts, base=base)
    if c.errors:
        raise ConfigErrors(c.errors)
    return policy


def errors_of(*texts: str, base: bool = True) -> list[str]:
    return [str(e) for e in compile_texts(*texts, base=base)[1].errors]
