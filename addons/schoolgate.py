"""Entry script: `mitmdump -s addons/schoolgate.py` (or `schoolgate run`, which
adds the same chain in-process). The order is the contract between addons."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from addons.blockpage import BlockPage
from addons.chain import Chain
from addons.clients import ClientIdentify
from addons.connections import Connections
from addons.core.snapshot import Runtime
from addons.downloads import FileTypes
from addons.enforce import Enforce
from addons.export import Exporter
from addons.home import HomeRules
from addons.imagematch import ImageMatch
from addons.incidents import IncidentLog
from addons.infra.scanproc import ScanPool
from addons.lists import ListUpdater
from addons.memory import Memory
from addons.metrics import Metrics
from addons.onboarding import Onboarding
from addons.overrides import OverrideWatcher
from addons.personal_info import PersonalInfo
from addons.phrases import PhraseScan
from addons.policy_loader import PolicyLoader
from addons.safesearch import SafeSearch
from addons.selftest_probe import SelftestProbe
from addons.settings import SchoolgateSettings
from addons.tls_policy import TlsPolicy
from addons.workers import Workers


def make_addons(runtime: Runtime, argv: Sequence[str] = ()) -> list[Any]:
    scans = ScanPool()  # the scanning processes, shared by PhraseScan (pages) and PersonalInfo (posts)
    return [
        SchoolgateSettings(runtime),
        PolicyLoader(runtime),
        ListUpdater(runtime),
        OverrideWatcher(runtime),
        Onboarding(runtime),
        TlsPolicy(runtime),
        ClientIdentify(runtime),
        Enforce(runtime),
        Connections(runtime),
        HomeRules(runtime),
        SafeSearch(runtime),
        PersonalInfo(runtime, scans),
        FileTypes(runtime),
        ImageMatch(runtime),
        PhraseScan(runtime, scans),
        BlockPage(runtime),
        SelftestProbe(runtime),
        Workers(runtime, argv),
        IncidentLog(runtime),
        Exporter(runtime),
        Metrics(runtime),
        Memory(runtime),
    ]


addons = [Chain(make_addons(Runtime()))]
