from addons.core.snapshot import Runtime
from addons.schoolgate import addons, make_addons


def test_chain_order_is_the_contract() -> None:
    names = [type(a).__name__ for a in make_addons(Runtime())]
    assert names == ["SchoolgateSettings", "PolicyLoader", "ListUpdater", "OverrideWatcher", "Onboarding", "TlsPolicy",
                     "ClientIdentify",
                     "Enforce", "HomeRules", "PersonalInfo", "SafeSearch", "FileTypes", "ImageMatch", "PhraseScan",
                     "BlockPage", "SelftestProbe", "Workers", "IncidentLog", "Exporter", "Metrics", "Memory"]
    assert len(addons) == 1  # one Chain (addons/chain.py)
    runtimes = {id(a.runtime) for a in addons[0].parts}
    assert len(runtimes) == 1  # one shared Runtime for the mitmdump -s entry
