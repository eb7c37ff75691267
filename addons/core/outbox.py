"""What leaves the school: items of the outbox, delivered by the department
export (signed, retried until delivered). Each item has an id so that a re-sent
item is recognised by the receiver and stored once.

Authority reports of known child-abuse material carry the list and entry id,
the host, the kind of match and the time. Never the image, the URL path, a
device, a pseudonym or a child's group: nothing about who saw it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum


class OutboxKind(StrEnum):
    AUTHORITY_REPORT = "authority_report"  # a match on a locked (illegal-content) list
    DEPARTMENT_EXPORT = "department_export"  # the periodic aggregated figures


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: str  # unique; the receiver stores each id once
    kind: OutboxKind
    created: int  # unix seconds
    body: str  # JSON

    @property
    def payload(self) -> dict[str, object]:
        loaded: dict[str, object] = json.loads(self.body)
        return loaded


AUTHORITY_FIELDS = ("type", "id", "school_id", "time", "category", "list", "entry", "match", "distance", "host")


REPORT_WINDOW = 86_400  # one report per list entry and host per (UTC) day


def _report_id(school_id: str, list_id: str, entry_id: str, host: str, ts: int) -> str:
    """The same match on the same day always has the same id, so a restarted proxy (which
    forgets what it reported) queues it once and the department stores it once."""
    key = "\0".join((school_id, list_id, entry_id, host, str(ts // REPORT_WINDOW)))
    return hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


def authority_report(*, school_id: str, ts: int, category: str, list_id: str, entry_id: str, match: str,
                     host: str, distance: int = 0, report_id: str | None = None) -> OutboxItem:
    """A report for the authorities of one match on a locked list.

    `match` is how it matched: `url` or `domain` (a URL or domain list), or
    `sha256`, `md5` or `pdq` (an image-hash list; `distance` in bits for PDQ).
    """
    rid = report_id or _report_id(school_id, list_id, entry_id, host, ts)
    body = {
        "type": "known_abuse_material",
        "id": rid,
        "school_id": school_id,
        "time": ts,
        "category": category,
        "list": list_id,
        "entry": entry_id,
        "match": match,
        "distance": distance,
        "host": host,
    }
    assert tuple(body) == AUTHORITY_FIELDS
    return OutboxItem(rid, OutboxKind.AUTHORITY_REPORT, ts, json.dumps(body, sort_keys=True, ensure_ascii=False))


class ReportDeduper:
    """One report per (list, entry, host) per window: a page reloaded fifty times,
    or many children on one page, is one report (each still an incident)."""

    def __init__(self, window_seconds: int = REPORT_WINDOW, max_keys: int = 100_000):
        self.window = window_seconds
        self.max_keys = max_keys
        self._seen: dict[tuple[str, str, str], int] = {}

    def first(self, key: tuple[str, str, str], now: int) -> bool:
        last = self._seen.get(key)
        if last is not None and now - last < self.window:
            return False
        if len(self._seen) >= self.max_keys:
            self._seen = {k: t for k, t in self._seen.items() if now - t < self.window}
            while len(self._seen) >= self.max_keys:  # all recent: forget the oldest
                del self._seen[next(iter(self._seen))]
        self._seen.pop(key, None)
        self._seen[key] = now
        return True
