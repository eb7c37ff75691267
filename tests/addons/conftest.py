"""Addon tests: our chain inside mitmproxy's taddons context (wrapped here, as its
API is not stable), fed with tflow flows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from mitmproxy import http
from mitmproxy.test import taddons, tflow, tutils

from addons.blockpage import BlockPage
from addons.clients import ClientIdentify
from addons.core.settings import Settings
from addons.core.snapshot import Runtime
from addons.enforce import Enforce
from addons.policy_loader import PolicyLoader
from addons.settings import SchoolgateSettings


@dataclass
class Chain:
    tctx: Any
    runtime: Runtime
    settings_addon: SchoolgateSettings
    loader: PolicyLoader
    clients: ClientIdentify
    enforce: Enforce
    blockpage: BlockPage

    def flow(self, url: str, client: str = "127.0.0.7", accept: str | None = "text/html",
             method: str = "GET", host_header: str | None = None) -> http.HTTPFlow:
        req = http.Request.make(method, url)
        if accept:
            req.headers["Accept"] = accept
        if host_header:
            req.headers["Host"] = host_header
        f = tflow.tflow(req=req)
        f.client_conn.peername = (client, 40000)
        return f

    def request(self, f: http.HTTPFlow) -> http.HTTPFlow:
        for addon in (self.clients, self.enforce, self.blockpage):
            addon.request(f)
        return f


def options_for(settings: Settings) -> dict[str, Any]:
    return {k: v for k, v in settings.as_options().items() if k.startswith("schoolgate_")}


@pytest.fixture
def chain(settings: Settings) -> Iterator[Chain]:
    runtime = Runtime()
    addons = (SchoolgateSettings(runtime), PolicyLoader(runtime), ClientIdentify(runtime),
              Enforce(runtime), BlockPage(runtime))
    with taddons.context(*addons) as tctx:
        tctx.configure(addons[0], **options_for(settings))
        yield Chain(tctx, runtime, *addons)


__all__ = ["Chain", "tutils"]
