from addons.core.model import VERDICT_KEY, Reason
from addons.infra import overrides_store
from addons.overrides import OverrideWatcher
from tests.addons.conftest import Chain


async def test_overrides_apply_and_expire(chain: Chain) -> None:
    watcher = OverrideWatcher(chain.runtime)
    assert not await watcher.refresh()
    db = chain.runtime.settings.db_path
    o = overrides_store.add(db, "unblock", "grade-7", ["bet.test"], 30, "cô Lan")
    assert await watcher.refresh()
    f = chain.request(chain.flow("http://bet.test/", client="127.0.0.7"))
    assert f.response is None and f.metadata[VERDICT_KEY].reason is Reason.OVERRIDE
    f = chain.request(chain.flow("http://bet.test/", client="127.0.0.3"))  # grade 3: still blocked
    assert f.response is not None
    assert overrides_store.remove(db, o.id)
    assert await watcher.refresh()
    f = chain.request(chain.flow("http://bet.test/", client="127.0.0.7"))
    assert f.response is not None and f.metadata[VERDICT_KEY].reason is Reason.CATEGORY
