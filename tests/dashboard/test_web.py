import json
from pathlib import Path

from addons.core.i18n import parity_problems
from dashboard.web import lines

LOCALES = Path(__file__).resolve().parents[2] / "dashboard" / "locales"


def test_locale_catalogues_have_the_same_keys_and_placeholders() -> None:
    cats = {p.stem: json.loads(p.read_text("utf-8")) for p in LOCALES.glob("*.json")}
    assert set(cats) == {"vi", "en"} and parity_problems(cats) == []


def test_every_key_used_in_templates_exists() -> None:
    import re

    keys = set(json.loads((LOCALES / "en.json").read_text("utf-8")))
    templates = Path(__file__).resolve().parents[2] / "dashboard" / "templates"
    used = set()
    for t in templates.glob("*.html"):
        used |= set(re.findall(r'(?<![\w.])t\("([a-z0-9_]+)"', t.read_text("utf-8")))
    dynamic = {k for k in used if k.endswith("_")}  # prefixes completed in the template ("role_" ~ role)
    assert used - dynamic - keys == set()
    for prefix, values in (("role_", ("admin", "teacher", "department")), ("status_", ("pending", "approved", "denied",
                           "new", "forwarded", "closed")), ("override_", ("focus", "unblock"))):
        assert {prefix + v for v in values} <= keys


def test_lines() -> None:
    assert lines("a.test\nb.test, c.test  d.test\n\n") == ["a.test", "b.test", "c.test", "d.test"]
