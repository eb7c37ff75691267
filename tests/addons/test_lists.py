from pathlib import Path

from addons.core.model import Action, RequestView
from addons.lists import ListUpdater
from tests.addons.conftest import Chain
from tests.helpers.listserver import ListServer


async def test_due_sources_are_updated_and_picked_up(chain: Chain) -> None:
    settings = chain.runtime.settings
    with ListServer() as server:
        route = server.serve("/list", b"remote-bet.test\n", etag='"1"')
        (Path(settings.blocklists_dir) / "sources.yaml").write_text(
            f"sources:\n  remote: {{url: '{server.url('/list')}', category: gambling, refresh: 1h}}\n")
        assert await chain.loader.check_for_changes()  # sources.yaml is part of the policy
        updater = ListUpdater(chain.runtime)
        assert await updater.update_due(now=1_000_000.0) == ["remote"]
        assert await updater.update_due(now=1_000_100.0) == []  # not due yet
        await chain.loader.check_for_changes()  # the new copy's index compiles in the background
        assert await chain.loader.lists_settled()  # and is loaded
        snap = chain.runtime.snapshot
        assert snap is not None
        assert snap.decide(RequestView("remote-bet.test"), snap.group("grade-7")).action is Action.BLOCK
        assert chain.runtime.stats.sources["remote"]["entries"] == 1
        route.status = 500
        assert await updater.update_due(now=1_004_000.0) == ["remote"]
        assert "HTTP 500" in chain.runtime.stats.sources["remote"]["last_error"]
        assert not await chain.loader.check_for_changes()  # nothing new to load: the old copy stays
        await updater.done()
