"""An injected failure inside enforcement blocks the request (reason `error`)
through a real proxy running in this process."""

from __future__ import annotations

import asyncio
import logging

import pytest

from addons.core.settings import Settings
from addons.core.snapshot import Runtime, Snapshot
from addons.runner import build_master

pytestmark = pytest.mark.e2e


async def curl(port: int, url: str, source: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        "curl", "-s", "-o", "/dev/null", "-D", "-", "--max-time", "10", "--interface", source,
        "-x", f"http://127.0.0.1:{port}", url, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    head = out.decode("latin-1")
    status = int(head.split()[1])
    reason = next((line.split(":", 1)[1].strip() for line in head.splitlines()
                   if line.lower().startswith("x-schoolgate-reason")), "")
    return status, reason


async def test_enforcement_failure_blocks(settings: Settings, upstream, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    master = await build_master(settings, ["listen_port=0", f"mode=upstream:{upstream.url}"], Runtime(),
                                termlog=False)
    task = asyncio.ensure_future(master.run())
    try:
        ps, ec = master.addons.get("proxyserver"), master.addons.get("errorcheck")
        for _ in range(400):
            # Started: listening, and mitmproxy no longer treats a logged error as a failed start.
            if ps.listen_addrs() and ec.logger not in logging.getLogger().handlers:
                break
            await asyncio.sleep(0.05)
        port = ps.listen_addrs()[0][1]
        assert await curl(port, "http://school.test/", "127.0.0.7") == (200, "")

        def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("injected failure")

        monkeypatch.setattr(Snapshot, "decide", broken)
        assert await curl(port, "http://school.test/", "127.0.0.7") == (403, "error")
        assert await curl(port, "http://school.test/", "127.0.0.30") == (403, "error")  # guests too
    finally:
        master.shutdown()
        await asyncio.wait_for(task, 10)
