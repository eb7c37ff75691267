"""Addon tests: our chain inside mitmproxy's taddons context (wrapped here, as its
API is not stable), fed with tflow flows."""

from __future__ import annotations

import asyncio
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
from addons.downloads import FileTypes
from addons.enforce import Enforce
from addons.imagematch import ImageMatch
from addons.personal_info import PersonalInfo
from addons.phrases import PhraseScan
from addons.policy_loader import PolicyLoader
from addons.safesearch import SafeSearch
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
    safesearch: SafeSearch
    personal: PersonalInfo
    filetypes: FileTypes
    phrases: PhraseScan
    images: ImageMatch

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
        for addon in (self.clients, self.enforce, self.safesearch, self.personal, self.blockpage):
            drive(addon.request(f))
        return f

    def respond(self, f: http.HTTPFlow, body: bytes, content_type: str = "text/html; charset=utf-8",
                headers: dict[str, str] | None = None) -> http.HTTPFlow:
        """The upstream's answer going back through the response hooks."""
        f.response = http.Response.make(200, body, {"Content-Type": content_type, **(headers or {})})
        for addon in (self.filetypes, self.images, self.phrases):
            addon.responseheaders(f)
        for addon in (self.images, self.phrases, self.blockpage):
            result = addon.response(f)
            if asyncio.iscoroutine(result):
                asyncio.run(result)
        return f


def drive(result: Any) -> None:
    """Run an `async def` hook that does not wait for anything (in these tests, where
    scanning runs in the proxy), from a plain or an async test alike."""
    if asyncio.iscoroutine(result):
        try:
            result.send(None)
        except StopIteration:
            return
        result.close()
        raise RuntimeError("the hook waited for something: await it in an async test instead")


def options_for(settings: Settings) -> dict[str, Any]:
    return {k: v for k, v in settings.as_options().items() if k.startswith("schoolgate_")}


@pytest.fixture
def chain(settings: Settings) -> Iterator[Chain]:
    runtime = Runtime()
    addons = (SchoolgateSettings(runtime), PolicyLoader(runtime), ClientIdentify(runtime),
              Enforce(runtime), BlockPage(runtime))
    extra = (SafeSearch(runtime), PersonalInfo(runtime), FileTypes(runtime), PhraseScan(runtime), ImageMatch(runtime))
    with taddons.context(*addons, *extra) as tctx:
        tctx.configure(addons[0], **options_for(settings))
        yield Chain(tctx, runtime, *addons, *extra)


__all__ = ["Chain", "tutils"]
