import asyncio
import logging

import pytest

from addons.infra.tasks import cancel, spawn


async def test_spawn_keeps_a_reference_and_logs_failures(caplog: pytest.LogCaptureFixture) -> None:
    async def boom() -> None:
        raise ValueError("x")

    with caplog.at_level(logging.ERROR):
        t = spawn(boom(), name="boom")
        await asyncio.sleep(0.01)
    assert t.done() and "Background task boom failed" in caplog.text


async def test_cancel() -> None:
    t = spawn(asyncio.sleep(10), name="sleeper")
    await cancel(t)
    assert t.cancelled()
    await cancel(None)
