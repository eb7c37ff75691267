from pathlib import Path

from addons.core.model import Action
from addons.core.settings import Settings
from addons.infra.loader import load_snapshot
from addons.infra.selftest import ALLOWED_CANARY, canaries, plan


def test_canaries_and_plan(settings: Settings) -> None:
    snap = load_snapshot(settings).snapshot
    canary = canaries(settings, snap)
    assert canary["gambling"] in ("bet.test", "casino.test") and canary["csam"] == "locked.test"
    checks = plan(snap, "grade-3", canary, snap.now())
    whats = {w: (h, e) for w, h, e in checks}
    assert whats["category:adult"] == ("adult.test", Action.BLOCK)
    assert whats["category:csam"] == ("locked.test", Action.BLOCK)
    assert whats["uncategorised"] == (ALLOWED_CANARY, Action.ALLOW)
    staff = {w for w, _, _ in plan(snap, "staff", canary, snap.now())}
    assert "category:csam" in staff and "category:adult" not in staff
    preschool = {w: e for w, _, e in plan(snap, "preschool", canary, snap.now())}
    assert preschool["uncategorised"] is Action.BLOCK
    assert [e for w, e in preschool.items() if w.startswith("allow:")] == [Action.ALLOW] * 3
    assert Path(settings.blocklists_dir).exists()
