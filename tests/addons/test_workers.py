import asyncio
from pathlib import Path

from addons.core.snapshot import Runtime
from addons.infra.workers import WorkerRole
from addons.workers import Workers


def test_nothing_to_do_alone_or_in_a_follower(tmp_path: Path) -> None:
    for role in (None, WorkerRole(1, 2, tmp_path / "w.sock", 1)):
        runtime = Runtime()
        runtime.role = role
        addon = Workers(runtime)
        asyncio.run(addon.running())
        assert addon.hub is None and addon.followers is None and runtime.worker_hub is None
        assert not (tmp_path / "w.sock").exists()
        asyncio.run(addon.done())
