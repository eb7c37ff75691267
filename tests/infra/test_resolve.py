"""The resolver the proxy connects with: one answer per name for a while, bounded;
the gateway's own addresses."""

from __future__ import annotations

import pytest

from addons.infra.resolve import OwnAddresses, ResolveError, Resolver, system_lookup


class FakeLookup:
    def __init__(self, answers: dict[str, list[str]]):
        self.answers, self.calls = answers, 0

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls += 1
        return self.answers.get(host, [])


async def test_answers_are_kept_for_their_ttl() -> None:
    now = [0.0]
    lookup = FakeLookup({"a.test": ["203.0.113.1"]})
    r = Resolver(lookup, ttl=60, clock=lambda: now[0])
    assert await r.resolve("a.test") == ("203.0.113.1",)
    lookup.answers["a.test"] = ["127.0.0.1"]  # rebinding: a second answer for the same name
    now[0] = 59
    assert await r.resolve("a.test") == ("203.0.113.1",)  # the checked answer is what is used
    now[0] = 61
    assert await r.resolve("a.test") == ("127.0.0.1",)
    assert lookup.calls == 2


async def test_the_cache_is_bounded_and_no_answer_is_an_error() -> None:
    lookup = FakeLookup({f"h{i}.test": ["203.0.113.1"] for i in range(10)})
    r = Resolver(lookup, size=3)
    for i in range(10):
        await r.resolve(f"h{i}.test")
    assert len(r._cache) == 3
    with pytest.raises(ResolveError, match="no address"):
        await r.resolve("none.test")


async def test_a_slow_lookup_times_out() -> None:
    import asyncio

    async def slow(host: str, port: int) -> list[str]:
        await asyncio.sleep(5)
        return ["203.0.113.1"]

    with pytest.raises(ResolveError, match="longer than"):
        await Resolver(slow, timeout=0.05).resolve("slow.test")


async def test_the_system_resolver() -> None:
    assert "127.0.0.1" in await system_lookup("localhost", 80)
    with pytest.raises(ResolveError):
        await system_lookup("no-such-name.invalid", 80)


def test_own_addresses() -> None:
    own = OwnAddresses()
    assert "127.0.0.1" in own and "127.0.0.5" in own  # loopback is bindable
    assert "203.0.113.77" not in own and "not-an-ip" not in own and "0.0.0.0" not in own
