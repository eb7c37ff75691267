"""Name resolution for the connections the proxy makes, and the gateway's own
addresses.

The proxy resolves a name once, checks every address it got (core.layers:
never the gateway itself, loopback or link-local for students), and connects to
the address it checked, so a name that answers differently the second time
(DNS rebinding) cannot lead anywhere else. Answers are kept for `ttl` seconds,
at most `size` names.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

Lookup = Callable[[str, int], Awaitable[list[str]]]


class ResolveError(Exception):
    pass


async def system_lookup(host: str, port: int) -> list[str]:
    """The system resolver's addresses for `host`, in its order (IPv6 and IPv4)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise ResolveError(f"{host} does not resolve: {e.strerror}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class Resolver:
    def __init__(self, lookup: Lookup = system_lookup, ttl: float = 60.0, size: int = 8192,
                 timeout: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self._lookup = lookup
        self.ttl, self.size, self.timeout = ttl, size, timeout
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, tuple[str, ...]]] = OrderedDict()
        self.lookups = 0

    def cached(self, host: str) -> tuple[str, ...] | None:
        hit = self._cache.get(host)
        if hit is None or hit[0] < self._clock():
            return None
        return hit[1]

    async def resolve(self, host: str, port: int = 443) -> tuple[str, ...]:
        """The addresses of `host` (raises ResolveError when it has none or the lookup times out)."""
        hit = self.cached(host)
        if hit is not None:
            self._cache.move_to_end(host)
            return hit
        self.lookups += 1
        try:
            found = tuple(await asyncio.wait_for(self._lookup(host, port), self.timeout))
        except TimeoutError:
            raise ResolveError(f"looking up {host} took longer than {self.timeout:g} s") from None
        if not found:
            raise ResolveError(f"{host} has no address")
        self._cache[host] = (self._clock() + self.ttl, found)
        if len(self._cache) > self.size:
            self._cache.popitem(last=False)
        return found


class OwnAddresses:
    """Whether an address belongs to this machine: a socket can be bound to it.
    Answers are kept a minute, so an address added to an interface counts soon."""

    def __init__(self, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self._clock = clock
        self._known: dict[str, tuple[float, bool]] = {}

    def __contains__(self, address: str) -> bool:
        hit = self._known.get(address)
        if hit is not None and hit[0] > self._clock():
            return hit[1]
        own = _bindable(address)
        if len(self._known) > 4096:
            self._known.clear()
        self._known[address] = (self._clock() + self.ttl, own)
        return own


def _bindable(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.is_unspecified or ip.is_multicast:
        return False
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        try:
            s.bind((str(ip), 0))
        except OSError as e:
            if e.errno in (errno.EADDRNOTAVAIL, errno.EINVAL, errno.EAFNOSUPPORT):
                return False
            return False
    return True
