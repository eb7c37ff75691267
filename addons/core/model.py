"""The shared vocabulary: requests, clients, verdicts and reason codes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Action(StrEnum):
    ALLOW = "allow"
    BLOCK = "block"


class Reason(StrEnum):
    """Stable reason codes, shared by logs, metrics, the block page and exports.

    Never rename a value: dashboards, exports and translations key on them.
    """

    # blocking reasons
    ILLEGAL = "illegal"  # a locked (illegal-content) list; nothing can unblock it
    DENIED = "denied"  # an explicit deny rule for the domain in the group's policy
    URL = "url"  # a denied URL pattern (prefix or regular expression)
    IP_LITERAL = "ip_literal"  # a bare IP address where the policy wants names
    CATEGORY = "category"  # a category the group blocks
    SCHEDULE = "schedule"  # a category or the whole internet is closed at this time
    UNCATEGORISED = "uncategorised"  # a site on no list, for a group that blocks those
    FILETYPE = "filetype"  # a download of a blocked file type (.exe, .apk, ...)
    FOCUS = "focus"  # a teacher's focus mode: only the chosen sites are open
    SAFESEARCH = "safesearch"  # a search engine with no safe-search mechanism, for groups that block those
    PHRASE = "phrase"  # the page or search scored over the group's threshold in a blocked category
    SAFEGUARDING = "safeguarding"  # words about self-harm, grooming, extremism or bullying: help, not blame
    PERSONAL_INFO = "personal_info"  # about to send personal information to an unknown site (a warning)
    ERROR = "error"  # enforcement failed; blocked so that a failure never opens the filter
    # the connection itself (core.layers): every name it carries, its port and protocol
    MISMATCH = "mismatch"  # the connection names two sites (CONNECT target, server name, Host) and one is blocked
    TUNNEL = "tunnel"  # a port other than the web's, or bytes that are neither HTTP nor TLS
    LOCAL = "local"  # the gateway itself, loopback or link-local addresses, however the name is spelled
    # home gateway (core.home): a parent's choices for one child
    SERVICE = "service"  # a named service (blocklists/services.yaml) blocked by a policy or a parent
    BUDGET = "budget"  # the child's daily time for this service (or its group) is used up
    PAUSED = "paused"  # a parent paused the internet for this child or the whole home
    BEDTIME = "bedtime"  # the child's bedtime: the whole internet is closed
    HOMEWORK = "homework"  # the child's homework time: named services are closed
    # allowing reasons
    ALLOWLIST = "allowlist"  # an explicit allow rule
    OVERRIDE = "override"  # a teacher's override opened the site (or it is on the focus list)
    DEFAULT = "default"  # nothing matched that blocks


BLOCK_REASONS = frozenset(
    {
        Reason.ILLEGAL,
        Reason.DENIED,
        Reason.URL,
        Reason.IP_LITERAL,
        Reason.CATEGORY,
        Reason.SCHEDULE,
        Reason.UNCATEGORISED,
        Reason.FILETYPE,
        Reason.FOCUS,
        Reason.SAFESEARCH,
        Reason.PHRASE,
        Reason.SAFEGUARDING,
        Reason.PERSONAL_INFO,
        Reason.ERROR,
        Reason.MISMATCH,
        Reason.TUNNEL,
        Reason.LOCAL,
        Reason.SERVICE,
        Reason.BUDGET,
        Reason.PAUSED,
        Reason.BEDTIME,
        Reason.HOMEWORK,
    }
)


class Kind(StrEnum):
    STUDENT = "student"
    STAFF = "staff"
    GUEST = "guest"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a rule came from: a policy or list file and a line."""

    source: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.source}:{self.line}" if self.line else self.source


@dataclass(frozen=True, slots=True)
class RequestView:
    """What the core needs to know about a request."""

    host: str  # normalised: lower case, no trailing dot, punycode
    path: str = "/"  # path without the query string
    scheme: str = "http"
    port: int = 80
    method: str = "GET"
    query: str = ""

    @property
    def url(self) -> str:
        default = (self.scheme == "http" and self.port == 80) or (
            self.scheme == "https" and self.port == 443
        )
        host = f"[{self.host}]" if ":" in self.host else self.host
        netloc = host if default else f"{host}:{self.port}"
        return f"{self.scheme}://{netloc}{self.path}"


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Action
    reason: Reason
    group: str
    grade: int | None = None
    level: str | None = None
    category: str | None = None  # the category that decided, if any
    categories: tuple[str, ...] = ()  # every category the site is listed in
    rule: str = ""  # human description of the rule that won
    origin: Origin | None = None  # file:line of that rule
    matched: str | None = None  # the domain, URL prefix or pattern that matched
    notes: tuple[str, ...] = field(default=())
    until: float | None = None  # unix seconds when access comes back (home limits), if known

    @property
    def blocked(self) -> bool:
        return self.action is Action.BLOCK


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Who is asking: the group a device belongs to. The address stays in memory only."""

    address: str
    group: str
    range_name: str | None = None
    selftest: bool = False  # decided as `group` on behalf of `schoolgate selftest`


# flow.metadata keys: the contract between addons (they never import each other).
# A blocking verdict is written only through addons.flowutil.block (by Enforce, and
# by the content controls: PersonalInfo, SafeSearch, FileTypes, PhraseScan).
CLIENT_KEY = "schoolgate.client"  # ClientInfo, written by ClientIdentify only
VERDICT_KEY = "schoolgate.verdict"  # Verdict, written by Enforce (and later content scanners)
BLOCKED_KEY = "schoolgate.blocked"  # True when the response is schoolgate's short 403
DECISION_SECONDS_KEY = "schoolgate.decision_seconds"  # float, written by Enforce
SELFTEST_KEY = "schoolgate.selftest"  # True for an authenticated `schoolgate selftest` request
IMAGE_KEY = "schoolgate.image"  # how an image was checked against the hash lists (ImageCheck), by ImageMatch
HOLD_BODY_KEY = "schoolgate.hold_body"  # True: an addon needs the whole body; others must not stream it
PII_KEY = "schoolgate.pii"  # personal-info warning: kinds found, token, form fields (memory only, never logged)
PII_CONFIRM = "__schoolgate_pii"  # form field / query parameter carrying the warning's confirmation token
SELFTEST_HEADER = "X-Schoolgate-Selftest"  # "<token> <group id>", removed before anything else sees it
