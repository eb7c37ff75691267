import asyncio
import logging

import pytest
from mitmproxy import exceptions, hooks, http
from mitmproxy.test import tflow

from addons.chain import Chain
from addons.core.snapshot import Runtime
from addons.schoolgate import make_addons


class Part:
    def __init__(self, name: str, seen: list[str]):
        self.name = name
        self.seen = seen

    def requestheaders(self, flow: object) -> None:
        self.seen.append(f"{self.name}.requestheaders")

    def request(self, flow: object) -> None:
        self.seen.append(f"{self.name}.request")


class Failing(Part):
    def request(self, flow: object) -> None:
        raise RuntimeError("boom")

    def configure(self, updated: set[str]) -> None:
        raise exceptions.OptionsError("bad option")


class Later(Part):
    async def response(self, flow: object) -> None:
        await asyncio.sleep(0)
        self.seen.append(f"{self.name}.response")

    def running(self) -> None:
        self.seen.append(f"{self.name}.running")


def test_the_chain_has_exactly_the_hooks_of_its_parts() -> None:
    parts = make_addons(Runtime())
    chain = Chain(parts)
    for name in hooks.all_hooks:
        expected = any(callable(getattr(p, name, None)) for p in parts)
        assert hasattr(chain, name) is expected, name
    assert not hasattr(chain, "addons")  # mitmproxy must not walk into the parts itself
    assert not hasattr(chain, "update") and not hasattr(chain, "client_connected")


def test_parts_run_in_order_and_an_error_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []
    chain = Chain([Part("a", seen), Failing("b", seen), Part("c", seen)])
    with caplog.at_level(logging.ERROR):
        chain.request(tflow.tflow())  # type: ignore[attr-defined]
    assert seen == ["a.request", "c.request"]
    assert "Addon error: boom (in Failing.request)" in caplog.text


def test_option_errors_go_through() -> None:
    chain = Chain([Part("a", []), Failing("b", [])])
    with pytest.raises(exceptions.OptionsError, match="bad option"):
        chain.configure(set())  # type: ignore[attr-defined]


def test_a_hook_is_async_when_a_part_needs_it() -> None:
    seen: list[str] = []
    chain = Chain([Later("x", seen), Part("y", seen), Later("z", seen)])
    assert asyncio.iscoroutinefunction(chain.response)  # type: ignore[attr-defined]
    assert not asyncio.iscoroutinefunction(chain.request)  # type: ignore[attr-defined]
    assert not asyncio.iscoroutinefunction(chain.requestheaders)  # type: ignore[attr-defined]
    asyncio.run(chain.response(object()))  # type: ignore[attr-defined]
    chain.running()  # type: ignore[attr-defined]
    assert seen == ["x.response", "z.response", "x.running", "z.running"]


def test_a_sync_hook_returning_something_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    class Returns:
        def request(self, flow: object) -> object:
            return asyncio.sleep(0)  # a coroutine that nobody would await

    chain = Chain([Returns()])
    with caplog.at_level(logging.ERROR):
        chain.request(tflow.tflow())  # type: ignore[attr-defined]
    assert "must return None" in caplog.text


def test_a_request_that_may_stream_is_decided_at_its_headers() -> None:
    """A body mitmproxy streams would reach the server before `request`: for those the
    whole request phase runs at `requestheaders`, and a blocked one is killed."""
    seen: list[str] = []

    class Blocks(Part):
        def request(self, flow: http.HTTPFlow) -> None:
            super().request(flow)
            if flow.request.host == "blocked.test":
                flow.response = http.Response.make(403)

    chain = Chain([Part("a", seen), Blocks("b", seen)])
    upload = tflow.tflow(req=http.Request.make("POST", "http://allowed.test/upload",
                                               headers={"Transfer-Encoding": "chunked"}))
    chain.requestheaders(upload)  # type: ignore[attr-defined]
    assert seen == ["a.requestheaders", "b.requestheaders", "a.request", "b.request"]
    assert upload.request.stream is True and upload.live  # allowed: streamed, never buffered
    chain.request(upload)  # type: ignore[attr-defined]
    assert seen.count("a.request") == 1  # not decided twice
    blocked = tflow.tflow(req=http.Request.make("POST", "http://blocked.test/", content=b"x"))
    blocked.request.stream = True  # what mitmproxy sets for a Content-Length over the limit
    chain.requestheaders(blocked)  # type: ignore[attr-defined]
    assert blocked.error is not None and not blocked.live  # killed: nothing reaches the server
    small = tflow.tflow(req=http.Request.make("POST", "http://blocked.test/", content=b"x"))
    seen.clear()
    chain.requestheaders(small)  # type: ignore[attr-defined]
    assert seen == ["a.requestheaders", "b.requestheaders"]  # a known small body: the usual order
