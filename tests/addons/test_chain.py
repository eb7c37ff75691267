import asyncio
import logging

import pytest
from mitmproxy import exceptions, hooks

from addons.chain import Chain
from addons.core.snapshot import Runtime
from addons.schoolgate import make_addons


class Part:
    def __init__(self, name: str, seen: list[str]):
        self.name = name
        self.seen = seen

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
        chain.request(object())  # type: ignore[attr-defined]
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
    asyncio.run(chain.response(object()))  # type: ignore[attr-defined]
    chain.running()  # type: ignore[attr-defined]
    assert seen == ["x.response", "z.response", "x.running", "z.running"]


def test_a_sync_hook_returning_something_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    class Returns:
        def request(self, flow: object) -> object:
            return asyncio.sleep(0)  # a coroutine that nobody would await

    chain = Chain([Returns()])
    with caplog.at_level(logging.ERROR):
        chain.request(object())  # type: ignore[attr-defined]
    assert "must return None" in caplog.text
