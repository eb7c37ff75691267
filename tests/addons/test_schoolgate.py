import sys

from addons.core.decide import CHECKS
from addons.core.snapshot import Runtime
from addons.schoolgate import addons, make_addons


def test_chain_order_is_the_contract() -> None:
    names = [type(a).__name__ for a in make_addons(Runtime())]
    assert names == ["SchoolgateSettings", "PolicyLoader", "ListUpdater", "OverrideWatcher", "Onboarding", "TlsPolicy",
                     "ClientIdentify",
                     "Enforce", "Connections", "HomeRules", "SafeSearch", "PersonalInfo", "FileTypes", "ImageMatch", "PhraseScan",
                     "BlockPage", "SelftestProbe", "Workers", "IncidentLog", "Exporter", "Metrics", "Memory"]
    assert len(addons) == 1  # one Chain (addons/chain.py)
    runtimes = {id(a.runtime) for a in addons[0].parts}
    assert len(runtimes) == 1  # one shared Runtime for the mitmdump -s entry


def test_the_addons_apply_the_checks_in_the_order_of_the_list() -> None:
    """core.decide.CHECKS is the one order: the addons that apply its `allowed` checks
    sit in the chain in that order."""
    modules = [sys.modules[type(a).__module__].__file__ or "" for a in make_addons(Runtime())]
    order = [next(i for i, m in enumerate(modules) if m.endswith(c.by)) for c in CHECKS if c.phase == "allowed"]
    assert order == sorted(order)
