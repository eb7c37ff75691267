"""What may be stored about a child, and in what form. The only place that
decides it: incidents carry an explicit allow-list of fields, client addresses
become keyed pseudonyms, and allowed traffic exists only as hourly counts.

docs/privacy.md describes every stored field; a test compares the database's
columns with that document.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, fields
from enum import StrEnum

from .model import Reason, Verdict

MAX_PATH = 200  # characters of a URL path kept in an incident


class IncidentKind(StrEnum):
    BLOCK = "block"  # a request was blocked
    ALERT = "alert"  # a safeguarding alert (self-harm, grooming, extremism, bullying, abuse material)
    REVIEW = "review"  # a child asked for a block to be reviewed
    REPORT = "report"  # a child reported harmful content
    OVERRIDE = "override"  # a teacher's override or focus mode started or ended
    POLICY = "policy_change"  # a policy was edited or reloaded


class Severity(StrEnum):
    INFO = "info"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class Incident:
    """One stored event. Only these fields are ever written."""

    ts: int  # unix time, seconds
    kind: IncidentKind
    severity: Severity
    group_id: str
    grade: int | None
    level: str | None
    reason: str
    category: str | None = None
    host: str | None = None
    path: str | None = None  # no query string, no fragment, at most MAX_PATH characters
    client_ref: str | None = None  # keyed pseudonym of the device, rotating
    client_addr: str | None = None  # raw address: only when the admin turned it on
    detail: str | None = None  # a list or entry id, an outcome; never personal data


INCIDENT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Incident))


def clean_path(path: str) -> str:
    """The path without query string or fragment, cut to MAX_PATH characters."""
    p = path.split("?", 1)[0].split("#", 1)[0] or "/"
    return p if len(p) <= MAX_PATH else p[: MAX_PATH - 1] + "…"


class Pseudonymizer:
    """HMAC-SHA256 of the address with a secret that the store rotates.

    Within one key period the same device gets the same pseudonym (so a teacher
    can see that one device raised several alerts); after rotation the old key
    is destroyed and pseudonyms can no longer be linked to new ones.
    """

    def __init__(self, secret: bytes, key_id: str):
        if len(secret) < 16:
            raise ValueError("pseudonym secret too short")
        self._secret = secret
        self.key_id = key_id

    def __call__(self, address: str) -> str:
        digest = hmac.new(self._secret, address.encode(), hashlib.sha256).hexdigest()
        return f"{self.key_id}:{digest[:16]}"


def block_incident(verdict: Verdict, host: str, path: str, ts: int, client_ref: str | None,
                   client_addr: str | None = None) -> Incident:
    if verdict.reason is Reason.ILLEGAL:
        # A match on a locked list: an alert for the designated staff. The path is
        # not kept (on a URL list it would be the entry itself): the list and entry
        # id say what matched.
        return Incident(ts=ts, kind=IncidentKind.ALERT, severity=Severity.CRITICAL, group_id=verdict.group,
                        grade=verdict.grade, level=verdict.level, reason=verdict.reason.value,
                        category=verdict.category, host=host, path=None, client_ref=client_ref,
                        client_addr=client_addr, detail=locked_entry(verdict))
    return Incident(
        ts=ts,
        kind=IncidentKind.BLOCK,
        severity=Severity.INFO,
        group_id=verdict.group,
        grade=verdict.grade,
        level=verdict.level,
        reason=verdict.reason.value,
        category=verdict.category,
        host=host,
        path=clean_path(path),
        client_ref=client_ref,
        client_addr=client_addr,
    )


def locked_entry(verdict: Verdict) -> str:
    """'<list id> <entry id>' of a locked-list verdict: all that is ever shown of the entry."""
    source = verdict.origin.source if verdict.origin else "locked list"
    return f"{source} {verdict.matched or ''}".strip()


@dataclass(frozen=True, slots=True)
class TrafficKey:
    """One cell of the hourly traffic counts: no device, no site."""

    hour: int  # unix time of the start of the hour
    group_id: str
    level: str
    category: str  # "" for sites on no list
    action: str
    reason: str


def traffic_key(verdict: Verdict, ts: int) -> TrafficKey:
    return TrafficKey(ts - ts % 3600, verdict.group, verdict.level or "", verdict.category or "",
                      verdict.action.value, verdict.reason.value)


def suppress_small(cells: dict[tuple[str, ...], int], minimum: int) -> dict[tuple[str, ...], int]:
    """Aggregates safe to show outside the school: cells under `minimum` are dropped."""
    return {k: v for k, v in cells.items() if v >= minimum}
