"""Teachers' overrides: focus mode (only chosen sites, for N minutes) and
unblocking one site. They live in the store, apply within seconds, expire by
themselves and can never unblock a locked category."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .domains import candidates


@dataclass(frozen=True)
class Override:
    id: int
    kind: str  # "focus" | "unblock"
    group: str  # a group id; applies to it and to every group that inherits it
    domains: tuple[str, ...]
    starts: int  # unix seconds
    ends: int
    created_by: str = ""
    note: str = ""

    def active(self, ts: float) -> bool:
        return self.starts <= ts < self.ends

    def covers(self, host: str) -> str | None:
        """The listed domain that covers `host`, if any."""
        for name in candidates(host):
            if name in self.domains:
                return name
        return None


class Overrides:
    def __init__(self, items: Iterable[Override] = ()):
        self.items = tuple(items)
        self.ids = frozenset(o.id for o in self.items)

    def active(self, chain: tuple[str, ...], ts: float) -> list[Override]:
        return [o for o in self.items if o.group in chain and o.active(ts)]

    def __bool__(self) -> bool:
        return bool(self.items)


NONE = Overrides()
