"""Published lists and baseline: signed by the department, verified by schools
that subscribe to them as list sources; a broken baseline is never published."""

from __future__ import annotations

from pathlib import Path

import pytest

from addons.core.errors import ConfigErrors
from addons.core.model import Action, RequestView
from addons.core.settings import Settings
from addons.infra import signing
from addons.infra.loader import load_snapshot
from addons.infra.sources import update_source
from dashboard.department.app import load_department_categories
from dashboard.department.publish import department_key, publish, publish_dir
from tests.dashboard.department.conftest import Dept, at, make_export

BASELINE = """\
version: "2026-12"
locked: [csam]
levels:
  primary:
    block: [adult, gambling, games]
    safe_search: true
    youtube: strict
"""


def report(dept: Dept) -> None:
    s = dept.store
    for sid, domains in (("s1", ["new-bad.test", "only-one.test"]), ("s2", ["new-bad.test"])):
        s.register(sid, sid, "P", "D", ["primary"], "k")
        s.ingest(s.school(sid), make_export(sid, at("2026-11-23T23:00"), day="2026-11-23",
                                            harmful=[(d, "adult") for d in domains]), at("2026-11-24T00:00"))


def test_harmful_lists_are_signed_and_hold_domains_several_schools_reported(dept: Dept) -> None:
    report(dept)
    result = publish(dept.store, dept.settings)
    assert result.lists == {"harmful-adult.txt": 1} and result.baseline is None
    out = publish_dir(dept.settings)
    body = (out / "harmful-adult.txt").read_bytes()
    assert b"new-bad.test" in body and b"only-one.test" not in body
    _, public = department_key(dept.settings)
    signing.verify(body, (out / "harmful-adult.txt.sig").read_text(), public)
    served = dept.client().get("/lists/harmful-adult.txt")
    assert served.status_code == 200 and served.content == body
    assert dept.client().get("/lists/harmful-adult.txt.sig").status_code == 200
    assert dept.client().get("/lists/..%2Fdepartment.key").status_code == 404
    assert dept.client().get("/lists/department.key").status_code == 404


def test_a_school_subscribes_to_the_baseline(dept: Dept, settings: Settings) -> None:
    (dept.settings.data_path / "baseline.yaml").write_text(BASELINE)
    result = publish(dept.store, dept.settings, load_department_categories(dept.settings))
    assert result.baseline == "2026-12"
    _, public = department_key(dept.settings)
    # The school: primary allows games locally; the baseline makes it blocked, and says where.
    policies = Path(settings.policies_dir)
    text = (policies / "primary.yaml").read_text()
    assert "      games: block\n" in text
    (policies / "primary.yaml").write_text(text.replace("      games: block\n", "      games: allow\n", 1))
    (Path(settings.blocklists_dir) / "sources.yaml").write_text(
        "sources:\n  department-baseline:\n"
        f"    path: {publish_dir(dept.settings) / 'baseline.yaml'}\n"
        f"    format: baseline\n    signature: required\n    public_key: '{public}'\n")
    before = load_snapshot(settings)
    assert before.snapshot.decide(RequestView("games.test"), before.snapshot.group("grade-3")).action is Action.ALLOW
    snap = before.snapshot
    status = update_source(snap.sources[0], settings, snap.categories)
    assert status.ok, status.last_error
    after = load_snapshot(settings)
    v = after.snapshot.decide(RequestView("games.test"), after.snapshot.group("grade-3"))
    assert v.action is Action.BLOCK and "department baseline 2026-12" in str(v.origin)
    assert after.snapshot.info["baseline_version"] == "2026-12"
    warnings = [str(w) for w in after.warnings]
    assert any("policies/primary.yaml:23: warning: categories.games: allow is looser than the department "
               "baseline 2026-12" in w for w in warnings), warnings
    # A baseline signed with another key is refused; the verified one stays.
    other_private, _ = signing.generate()
    (publish_dir(dept.settings) / "baseline.yaml.sig").write_text(signing.sign(b"x", other_private))
    status = update_source(snap.sources[0], settings, snap.categories, force=True)
    assert "signature check failed" in status.last_error
    assert load_snapshot(settings).snapshot.info["baseline_version"] == "2026-12"


def test_a_broken_baseline_is_not_published(dept: Dept) -> None:
    (dept.settings.data_path / "baseline.yaml").write_text(BASELINE)
    categories = load_department_categories(dept.settings)
    publish(dept.store, dept.settings, categories)
    good = (publish_dir(dept.settings) / "baseline.yaml").read_bytes()
    (dept.settings.data_path / "baseline.yaml").write_text(BASELINE.replace("gambling", "gamblng"))
    with pytest.raises(ConfigErrors) as e:
        publish(dept.store, dept.settings, categories)
    assert "baseline.yaml:5: unknown category 'gamblng'" in str(e.value)
    assert (publish_dir(dept.settings) / "baseline.yaml").read_bytes() == good


def test_the_key_is_private(dept: Dept) -> None:
    department_key(dept.settings)
    assert (dept.settings.data_path / "department.key").stat().st_mode & 0o077 == 0
