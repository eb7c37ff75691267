"""Settings: one table (name, type, default, help) drives the settings file,
the mitmproxy options (`schoolgate_<name>`), validation, the start-up summary and
the docs (a test checks docs/settings.md covers every row)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import Collector, suggest
from .yamlsrc import LMap

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Setting:
    name: str
    type: type
    default: Any
    help: str
    choices: tuple[str, ...] | None = None
    option: str | None = None  # the mitmproxy option it maps to, if it is one of mitmproxy's

    @property
    def option_name(self) -> str:
        return self.option or f"schoolgate_{self.name}"


SETTINGS: tuple[Setting, ...] = (
    Setting("profile", str, "school",
            "Which product preset to run: school (a school gateway) or home (a family's home gateway: parents' "
            "setup page and per-child rules on the dashboard, reachable on the home network, nothing exported). "
            "The same as `schoolgate run --profile home`.", choices=("school", "home")),
    Setting("listen_host", str, "127.0.0.1",
            "Address the proxy listens on. Use the gateway's LAN address (or 0.0.0.0) to serve a school network.",
            option="listen_host"),
    Setting("listen_port", int, 8080, "TCP port of the explicit HTTP/HTTPS proxy.", option="listen_port"),
    Setting("data_dir", str, "",
            "Directory for the CA certificate, the compiled list index and later the incident database. "
            "Empty means $XDG_DATA_HOME/schoolgate (usually ~/.local/share/schoolgate)."),
    Setting("policies_dir", str, "",
            "Directory of policy YAML files (groups, schedules, clients). Empty means the policies/ "
            "directory shipped with schoolgate."),
    Setting("blocklists_dir", str, "",
            "Directory of category lists and categories.yaml. Empty means the blocklists/ directory "
            "shipped with schoolgate."),
    Setting("timezone", str, "Asia/Ho_Chi_Minh",
            "IANA time zone in which schedules (school hours, closed hours) are read."),
    Setting("language", str, "vi", "Language shown first on block pages and in reports (the other one follows).",
            choices=("vi", "en")),
    Setting("school_name", str, "",
            "The school's name, shown on block pages and in the name of the school's CA certificate."),
    Setting("school_id", str, "", "The school's identifier with the education department (for exports)."),
    Setting("dashboard_url", str, "",
            "Address of the schoolgate dashboard that children's review requests go to, for example "
            "http://10.0.0.1:8081. Empty: the block page explains how to ask a teacher instead."),
    Setting("dashboard_host", str, "127.0.0.1",
            "Address the dashboard listens on. Children reach its review and report forms, so on a gateway use "
            "the LAN address (and set dashboard_url)."),
    Setting("dashboard_port", int, 8081, "Port of the dashboard; 0: `schoolgate run` does not start it."),
    Setting("schoolgate_host", str, "schoolgate.local",
            "Reserved host name the proxy answers itself: the onboarding site (CA download, install steps), "
            "the sign-in page for shared computers and the report form link. Give it a DNS entry pointing at "
            "the gateway for transparent mode."),
    Setting("signin_hours", int, 8,
            "Hours a device signed in on the reserved host keeps the account's policy (a teacher on a lab "
            "computer gets the staff policy)."),
    Setting("proxy_auth", bool, False,
            "Accept Proxy-Authorization (Basic) in explicit-proxy mode: a dashboard account signing in gets the "
            "staff policy on that connection. Devices that do not sign in keep their address's group."),
    Setting("gateway_interfaces", str, "",
            "Student-facing network interfaces of the gateway, comma separated (for `schoolgate gateway`)."),
    Setting("counsellor_contact", str, "",
            "How children reach the school counsellor (a name, room or phone number), shown on block "
            "pages beside the 111 hotline. Empty: only the hotline is shown."),
    Setting("reload_interval", float, 1.0,
            "Seconds between checks of policies/ and blocklists/ for edits; edits apply within about "
            "twice this time."),
    Setting("max_list_errors", int, 100,
            "A list file is refused when it has more unreadable lines than this and they are also more "
            "than 10% of its lines, or when it yields no entries; the previous lists stay in use."),
    Setting("authority_public_key", str, "",
            "Ed25519 public key (base64) that verifies signed list sources (signature: required), such as the "
            "authorities' locked lists. Given by the list's publisher; see `schoolgate lists keygen`."),
    Setting("scan_max_bytes", int, 2_000_000,
            "Text responses (HTML, plain text, JSON, and pages sent without a type) are scanned with the "
            "phrase lists up to this many bytes after decompression (a longer page: its start). Bodies over "
            "both this and image_hash_max_bytes as sent are streamed through, never held in memory."),
    Setting("scan_time_budget", float, 2.0,
            "Seconds one page scan, one personal-information check of a post or one image hash may take. "
            "Past it the work is stopped and, for students and guests, the page is blocked (reason error: a "
            "failure never opens the filter); staff get it unscanned. Counted in "
            "schoolgate_limits_total{limit=\"time\"}."),
    Setting("scan_workers", int, 1,
            "Worker processes that scan pages with the phrase lists, beside the proxy (they use another "
            "core); 0 scans inside the proxy process."),
    Setting("image_hash_max_bytes", int, 10_000_000,
            "Images (image/*) up to this size are hashed and compared with the authorities' image-hash lists "
            "(only while such a list is loaded); larger ones pass unhashed."),
    Setting("image_hash_min_bytes", int, 2_000,
            "Images smaller than this (icons, spacers) get only the exact hashes, not the perceptual PDQ "
            "hash, which needs a real picture."),
    Setting("image_pdq_threshold", int, 31,
            "Largest Hamming distance (of 256 bits) at which an image's PDQ hash matches a listed one. 31 is "
            "the threshold Meta publishes for PDQ: it catches resized, re-encoded and slightly cropped "
            "copies while unrelated pictures differ by about 128 bits."),
    Setting("image_hash_workers", int, 1,
            "Worker processes that hash images beside the proxy; 0 hashes in a thread of the proxy process."),
    Setting("department_url", str, "",
            "HTTPS address of the education department's receiver (for example https://so-gd.example.gov.vn:8443). "
            "Empty: nothing is exported. Needs school_id; the school's key is shown by `schoolgate export status`."),
    Setting("department_ca", str, "",
            "A CA certificate file (PEM) that signed the department's HTTPS certificate, when it is not one the "
            "system trusts. Also used for list sources on the department's server."),
    Setting("export_period_hours", int, 1,
            "Hours each export covers (1, 2, 3, 4, 6, 8, 12 or 24), counted from local midnight."),
    Setting("export_min_cell", int, 5,
            "Counts under this are left out of exports (only how many were left out is said), so that no "
            "child can be singled out."),
    Setting("export_harmful_domains", bool, False,
            "Also export, once a day, the domains blocked by phrase scanning that several devices met "
            "(export_harmful_min_clients), to feed the department's shared list. Off unless the school opts in."),
    Setting("export_harmful_min_clients", int, 3,
            "Devices (by pseudonym) that must have met a domain before it is exported as harmful."),
    Setting("export_retry_seconds", float, 60.0,
            "First wait before sending again after the department could not be reached; it doubles up to "
            "export_retry_max_seconds, with random jitter."),
    Setting("export_retry_max_seconds", float, 3600.0,
            "Longest wait between two attempts to reach the department. Exports wait in the outbox meanwhile."),
    Setting("department_db", str, "",
            "Department server: where figures are stored. Empty: <data_dir>/department.db (SQLite); a "
            "postgresql:// address (DSN) for PostgreSQL."),
    Setting("department_host", str, "127.0.0.1", "Department server: address it listens on."),
    Setting("department_port", int, 8443, "Department server: HTTPS port."),
    Setting("department_tls_cert", str, "",
            "Department server: TLS certificate file (PEM). Empty: plain HTTP, for a server behind a TLS proxy."),
    Setting("department_tls_key", str, "", "Department server: TLS private key file (PEM)."),
    Setting("department_min_schools", int, 2,
            "Department server: schools that must have reported a domain before it goes on the published "
            "harmful-domain list."),
    Setting("department_stale_hours", int, 26,
            "Department server: a school with no export for this many hours is listed as not reporting."),
    Setting("department_stale_list_days", int, 7,
            "Department server: a school is listed as running stale lists when a list source it subscribes to "
            "was last updated longer ago than this (with no subscription: when its newest list is older)."),
    Setting("department_max_body", int, 1_000_000, "Department server: largest accepted report, in bytes."),
    Setting("incident_retention_days", int, 30,
            "Days a block, review, report, override or policy-change incident is kept in the local store."),
    Setting("alert_retention_days", int, 90,
            "Days a safeguarding alert is kept (designated staff may need longer than for ordinary blocks)."),
    Setting("traffic_retention_days", int, 400,
            "Days the hourly traffic counts (no devices, no sites) are kept; long enough for the yearly report."),
    Setting("store_client_addresses", bool, False,
            "Also store the device's IP address with each incident. Off by default: incidents carry only a "
            "rotating pseudonym. Turn on only where the school's rules require it."),
    Setting("client_address_retention_days", int, 7,
            "Days a stored IP address is kept before it is erased from its incident (when "
            "store_client_addresses is on)."),
    Setting("pseudonym_rotation_days", int, 7,
            "Days before the secret behind device pseudonyms is replaced and destroyed; after that, old "
            "pseudonyms cannot be linked to new ones."),
    Setting("incident_batch_seconds", float, 0.5,
            "How often the incident writer commits a batch; after a crash at most this window is lost."),
    Setting("incident_queue_size", int, 10000,
            "Incidents waiting to be written at most; beyond this they are counted as dropped instead of "
            "slowing the proxy."),
    Setting("home_history_days", int, 35,
            "Home profile: days the per-child figures (minutes per service per day, blocks per category per day) "
            "are kept for the parent's weekly summary. No sites, no times of day are kept."),
    Setting("metrics_host", str, "127.0.0.1", "Address of the Prometheus metrics endpoint."),
    Setting("metrics_port", int, 9464, "Port of the Prometheus metrics endpoint (/metrics); 0 turns it off."),
    Setting("workers", int, 0,
            "Proxy processes serving the one listening address (SO_REUSEPORT), so the proxy uses every core. "
            "0: one per CPU core. `schoolgate run --workers N` overrides it."),
)
BY_NAME = {s.name: s for s in SETTINGS}
BY_OPTION = {s.option_name: s for s in SETTINGS}


# What `profile: home` changes, unless the settings file or --set says otherwise.
HOME_DEFAULTS: dict[str, Any] = {
    "listen_host": "0.0.0.0",  # the family's devices use the gateway's proxy
    "dashboard_host": "0.0.0.0",  # the parent opens the setup page from a phone
}


@dataclass(frozen=True)
class Settings:
    profile: str = "school"
    listen_host: str = "127.0.0.1"
    listen_port: int = 8080
    data_dir: str = ""
    policies_dir: str = ""
    blocklists_dir: str = ""
    timezone: str = "Asia/Ho_Chi_Minh"
    language: str = "vi"
    school_name: str = ""
    school_id: str = ""
    dashboard_url: str = ""
    dashboard_host: str = "127.0.0.1"
    dashboard_port: int = 8081
    schoolgate_host: str = "schoolgate.local"
    signin_hours: int = 8
    proxy_auth: bool = False
    gateway_interfaces: str = ""
    counsellor_contact: str = ""
    reload_interval: float = 1.0
    max_list_errors: int = 100
    authority_public_key: str = ""
    scan_max_bytes: int = 2_000_000
    scan_time_budget: float = 2.0
    scan_workers: int = 1
    image_hash_max_bytes: int = 10_000_000
    image_hash_min_bytes: int = 2_000
    image_pdq_threshold: int = 31
    image_hash_workers: int = 1
    department_url: str = ""
    department_ca: str = ""
    export_period_hours: int = 1
    export_min_cell: int = 5
    export_harmful_domains: bool = False
    export_harmful_min_clients: int = 3
    export_retry_seconds: float = 60.0
    export_retry_max_seconds: float = 3600.0
    department_db: str = ""
    department_host: str = "127.0.0.1"
    department_port: int = 8443
    department_tls_cert: str = ""
    department_tls_key: str = ""
    department_min_schools: int = 2
    department_stale_hours: int = 26
    department_stale_list_days: int = 7
    department_max_body: int = 1_000_000
    incident_retention_days: int = 30
    alert_retention_days: int = 90
    traffic_retention_days: int = 400
    store_client_addresses: bool = False
    client_address_retention_days: int = 7
    pseudonym_rotation_days: int = 7
    incident_batch_seconds: float = 0.5
    incident_queue_size: int = 10000
    home_history_days: int = 35
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9464
    workers: int = 0

    # Resolved paths -----------------------------------------------------------------
    @property
    def data_path(self) -> Path:
        if self.data_dir:
            return Path(self.data_dir).expanduser()
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        return Path(base) / "schoolgate"

    @property
    def policies_path(self) -> Path:
        return Path(self.policies_dir).expanduser() if self.policies_dir else PROJECT_ROOT / "policies"

    @property
    def blocklists_path(self) -> Path:
        return Path(self.blocklists_dir).expanduser() if self.blocklists_dir else PROJECT_ROOT / "blocklists"

    @property
    def review_base(self) -> str:
        """Where the block page sends children's review requests ('' if nowhere)."""
        if self.dashboard_url:
            return self.dashboard_url.rstrip("/")
        if self.dashboard_port:
            host = self.dashboard_host if self.dashboard_host not in ("", "0.0.0.0") else self.listen_host
            return f"http://{host or '127.0.0.1'}:{self.dashboard_port}"
        return ""

    @property
    def db_path(self) -> Path:
        return self.data_path / "schoolgate.db"

    @property
    def department_store(self) -> str:
        """The department server's storage: a postgresql:// DSN, or a SQLite file path."""
        return self.department_db or str(self.data_path / "department.db")

    @property
    def ca_path(self) -> Path:
        return self.data_path / "ca"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def hold_max_bytes(self) -> int:
        """The largest body the proxy holds in memory to inspect it; larger ones stream through."""
        return max(self.scan_max_bytes, self.image_hash_max_bytes)

    def as_options(self) -> dict[str, Any]:
        """Values as mitmproxy options (which know only str, int and bool)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[BY_NAME[f.name].option_name] = str(value) if isinstance(value, float) else value
        return out


def _coerce(setting: Setting, value: Any) -> Any:
    if setting.type is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError("must be true or false")
    if setting.type is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str) and value.strip().lstrip("-").isdigit():
                return int(value)
            raise ValueError("must be a whole number")
        return value
    if setting.type is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                return float(str(value))
            except ValueError:
                raise ValueError("must be a number") from None
        return float(value)
    if value is None:
        return ""
    if not isinstance(value, (str, int, float)):
        raise ValueError("must be text")
    return str(value)


def validate(values: dict[str, Any], source: str, lines: dict[str, int], errors: Collector) -> Settings:
    """Check values (by setting name) and return Settings; errors name file and line."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        line = lines.get(name)
        setting = BY_NAME.get(name)
        if setting is None:
            errors.error(source, line, f"unknown setting '{name}'", suggest(name, BY_NAME))
            continue
        try:
            value = _coerce(setting, value)
        except ValueError as e:
            errors.error(source, line, f"setting '{name}' {e}, not {value!r}",
                         f"for example {name}: {setting.default!r}")
            continue
        if setting.choices and value not in setting.choices:
            errors.error(source, line, f"setting '{name}' must be one of {', '.join(setting.choices)}",
                         suggest(str(value), setting.choices))
            continue
        out[name] = value
    if out.get("profile") == "home":
        for name, value in HOME_DEFAULTS.items():
            out.setdefault(name, value)
    s = Settings(**out)
    if s.profile == "home" and s.department_url:
        errors.error(source, lines.get("department_url"), "the home profile exports nothing to the department",
                     "remove department_url (or run the school profile)")
    if s.home_history_days < 1:
        errors.error(source, lines.get("home_history_days"), "home_history_days must be at least 1",
                     "use for example home_history_days: 35")
    if "timezone" in out:
        try:
            ZoneInfo(s.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            errors.error(source, lines.get("timezone"), f"unknown time zone '{s.timezone}'",
                         "use an IANA name such as Asia/Ho_Chi_Minh")
    if not 1 <= s.listen_port <= 65535 and s.listen_port != 0:
        errors.error(source, lines.get("listen_port"), f"listen_port {s.listen_port} is not a TCP port",
                     "use a number from 1 to 65535 (0 picks a free port)")
    for name in ("incident_retention_days", "alert_retention_days", "traffic_retention_days",
                 "client_address_retention_days", "pseudonym_rotation_days", "incident_queue_size"):
        if getattr(s, name) < 1:
            errors.error(source, lines.get(name), f"{name} must be at least 1",
                         f"use for example {name}: {BY_NAME[name].default}")
    if not 0 <= s.workers <= 256:
        errors.error(source, lines.get("workers"), f"workers {s.workers} is out of range",
                     "use 0 (one per CPU core) or a number from 1 to 256")
    if not 0 <= s.dashboard_port <= 65535:
        errors.error(source, lines.get("dashboard_port"), f"dashboard_port {s.dashboard_port} is not a TCP port",
                     "use a number from 1 to 65535, or 0 not to start the dashboard")
    if not 0.05 <= s.scan_time_budget <= 60:
        errors.error(source, lines.get("scan_time_budget"), f"scan_time_budget {s.scan_time_budget} is out of range",
                     "use seconds from 0.05 to 60, for example scan_time_budget: 2")
    if not 0 <= s.scan_workers <= 16:
        errors.error(source, lines.get("scan_workers"), "scan_workers must be from 0 to 16",
                     "use 1 (or 0 to scan inside the proxy)")
    if not 0 <= s.image_hash_workers <= 16:
        errors.error(source, lines.get("image_hash_workers"), "image_hash_workers must be from 0 to 16",
                     "use 1 (or 0 to hash inside the proxy)")
    if not 0 <= s.image_pdq_threshold <= 63:
        errors.error(source, lines.get("image_pdq_threshold"),
                     f"image_pdq_threshold {s.image_pdq_threshold} is outside 0 to 63 (of 256 bits)",
                     "use 31, Meta's published threshold; above 63 unrelated pictures start to match")
    if s.image_hash_max_bytes < 1 or s.image_hash_min_bytes < 0:
        errors.error(source, lines.get("image_hash_max_bytes") or lines.get("image_hash_min_bytes"),
                     "image_hash_max_bytes must be at least 1 and image_hash_min_bytes at least 0",
                     "use for example image_hash_max_bytes: 10000000 and image_hash_min_bytes: 2000")
    if s.department_url:
        if not s.department_url.startswith("https://"):
            errors.error(source, lines.get("department_url"), "department_url must start with https://",
                         "exports are sent over HTTPS only, for example https://so-gd.example.gov.vn:8443")
        if not s.school_id:
            errors.error(source, lines.get("department_url"), "department_url is set but school_id is empty",
                         "set school_id to the id the department registered for the school")
    if s.school_id and not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", s.school_id):
        errors.error(source, lines.get("school_id"), f"school_id '{s.school_id}' is not a valid id",
                     "use letters, digits, '.', '_' and '-', for example 79-TH-0001")
    if s.export_period_hours not in (1, 2, 3, 4, 6, 8, 12, 24):
        errors.error(source, lines.get("export_period_hours"), "export_period_hours must divide a day",
                     "use 1, 2, 3, 4, 6, 8, 12 or 24")
    for name in ("export_min_cell", "export_harmful_min_clients", "department_min_schools",
                 "department_stale_hours", "department_stale_list_days", "department_max_body"):
        if getattr(s, name) < 1:
            errors.error(source, lines.get(name), f"{name} must be at least 1",
                         f"use for example {name}: {BY_NAME[name].default}")
    if s.export_retry_seconds <= 0 or s.export_retry_max_seconds < s.export_retry_seconds:
        errors.error(source, lines.get("export_retry_seconds") or lines.get("export_retry_max_seconds"),
                     "export_retry_seconds must be above 0 and at most export_retry_max_seconds",
                     "use for example 60 and 3600")
    if not 0 <= s.department_port <= 65535:
        errors.error(source, lines.get("department_port"), f"department_port {s.department_port} is not a TCP port",
                     "use a number from 1 to 65535")
    if bool(s.department_tls_cert) != bool(s.department_tls_key):
        errors.error(source, lines.get("department_tls_cert") or lines.get("department_tls_key"),
                     "department_tls_cert and department_tls_key go together",
                     "set both (PEM files), or neither for plain HTTP behind a TLS proxy")
    if not 0 <= s.metrics_port <= 65535:
        errors.error(source, lines.get("metrics_port"), f"metrics_port {s.metrics_port} is not a TCP port",
                     "use a number from 1 to 65535, or 0 to turn metrics off")
    if s.incident_batch_seconds <= 0:
        errors.error(source, lines.get("incident_batch_seconds"), "incident_batch_seconds must be above 0",
                     "use for example 0.5")
    if s.reload_interval <= 0:
        errors.error(source, lines.get("reload_interval"), "reload_interval must be above 0",
                     "use for example 1.0")
    return s


def from_yaml(data: Any, source: str, errors: Collector) -> Settings:
    if data is None:
        return Settings()
    if not isinstance(data, LMap):
        errors.error(source, getattr(data, "line", 1), "the settings file must be a mapping of name: value",
                     "write for example 'listen_port: 8080'")
        return Settings()
    return validate(dict(data), source, dict(data.lines), errors)
