"""The periodic trim (addons/memory.py)."""

from __future__ import annotations

import asyncio

import pytest

from addons import memory
from addons.core.snapshot import Runtime
from addons.infra.memory import has_glibc


@pytest.mark.skipif(not has_glibc(), reason="not glibc")
def test_memory_addon_trims_periodically_and_stops() -> None:
    async def scenario() -> int:
        addon = memory.Memory(Runtime(), interval=0.01)
        addon.running()
        await asyncio.sleep(0.1)
        await addon.done()
        trims = addon.trims
        await asyncio.sleep(0.05)
        assert addon.trims == trims  # stopped
        return trims

    assert asyncio.run(scenario()) >= 2
