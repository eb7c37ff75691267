"""Every write the dashboard makes: review requests, reports, teachers' policy
changes (validated by the same core as `schoolgate check`, written atomically to
the user's own generated file, recorded in the audit log), overrides."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from addons.core.domains import HostError, normalise_host
from addons.core.errors import ConfigError, ConfigErrors
from addons.core.overrides import Override
from addons.core.settings import Settings
from addons.infra import overrides_store
from addons.infra.accounts import User
from addons.infra.files import atomic_write, display_path
from addons.infra.loader import load_snapshot
from addons.infra.store import migrate

GENERATED_DIR = "dashboard"  # policies/dashboard/<user>.yaml: never the admin's own files
MAX_NOTE = 500
MAX_URL = 2000


class ActionError(ValueError):
    """A refusal in plain words, shown next to the form."""


def _conn(db: Path) -> sqlite3.Connection:
    migrate(db)
    conn = sqlite3.connect(db, timeout=10)
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def record(db: Path, user: str, action: str, target: str, before: str | None, after: str | None) -> int:
    conn = _conn(db)
    try:
        with conn:
            cur = conn.execute("INSERT INTO audit (ts, user_name, action, target, before, after) "
                               "VALUES (?, ?, ?, ?, ?, ?)", (int(time.time()), user, action, target, before, after))
            return int(cur.lastrowid or 0)
    finally:
        conn.close()


# ----------------------------------------------------------------------------- children's requests


def create_review(db: Path, host: str, group: str, reason: str, category: str, note: str) -> int:
    try:
        host = normalise_host(host)
    except HostError:
        raise ActionError("review_error_site") from None
    conn = _conn(db)
    try:
        with conn:
            cur = conn.execute("INSERT INTO review_requests (ts, host, group_id, reason, category, child_note) "
                               "VALUES (?, ?, ?, ?, ?, ?)", (int(time.time()), host, group[:60], reason[:40],
                                                             category[:60] or None, note.strip()[:MAX_NOTE]))
            return int(cur.lastrowid or 0)
    finally:
        conn.close()


def decide_review(db: Path, rid: int, approve: bool, user: User, days: int) -> Override | None:
    conn = _conn(db)
    try:
        row = conn.execute("SELECT host, group_id, status FROM review_requests WHERE id = ?", (rid,)).fetchone()
        if row is None or row[2] != "pending":
            raise ActionError("review_error_decided")
        override = None
        if approve:
            override = overrides_store.add(db, "unblock", row[1], [row[0]], days * 1440, user.name,
                                           f"review #{rid}", max_minutes=366 * 1440)
        with conn:
            conn.execute("UPDATE review_requests SET status = ?, decided_by = ?, decided_ts = ?, override_id = ? "
                         "WHERE id = ?", ("approved" if approve else "denied", user.name, int(time.time()),
                                          override.id if override else None, rid))
    finally:
        conn.close()
    record(db, user.name, "review_approved" if approve else "review_denied", f"review #{rid}", None,
           json.dumps({"host": row[0], "group": row[1], "days": days if approve else 0}))
    return override


def create_report(db: Path, url: str, kind: str, description: str, group: str) -> int:
    url = url.strip()[:MAX_URL]
    if not url:
        raise ActionError("report_error_url")
    conn = _conn(db)
    try:
        with conn:
            cur = conn.execute("INSERT INTO reports (ts, url, kind, description, group_id) VALUES (?, ?, ?, ?, ?)",
                               (int(time.time()), url, kind[:40], description.strip()[:MAX_NOTE], group[:60] or None))
            return int(cur.lastrowid or 0)
    finally:
        conn.close()


def handle_report(db: Path, rid: int, status: str, user: User) -> None:
    if status not in ("forwarded", "closed"):
        raise ActionError("error_bad_request")
    conn = _conn(db)
    try:
        with conn:
            if conn.execute("UPDATE reports SET status = ?, handled_by = ?, handled_ts = ? WHERE id = ?",
                            (status, user.name, int(time.time()), rid)).rowcount == 0:
                raise ActionError("error_not_found")
    finally:
        conn.close()
    record(db, user.name, f"report_{status}", f"report #{rid}", None, None)


# ----------------------------------------------------------------------------- policy changes


@dataclass
class OverlayForm:
    allow: list[str] = field(default_factory=list)
    deny: list[str] = field(default_factory=list)
    closed_during: str = ""


@dataclass
class SaveResult:
    ok: bool
    errors: dict[str, list[str]] = field(default_factory=dict)  # field → messages
    audit_id: int = 0


def generated_file(settings: Settings, user: str) -> Path:
    return settings.policies_path / GENERATED_DIR / f"{user}.yaml"


def read_overlays(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text("utf-8")) or {}
    except (FileNotFoundError, yaml.YAMLError):
        return {}
    return dict(data.get("overlays") or {})


def current_overlay(settings: Settings, user: str, group: str) -> OverlayForm:
    spec = read_overlays(generated_file(settings, user)).get(group) or {}
    return OverlayForm(list(spec.get("allow", [])), list(spec.get("deny", [])), str(spec.get("closed_during", "")))


def render_overlays(user: str, overlays: dict[str, dict[str, Any]]) -> str:
    header = (f"# Generated by the schoolgate dashboard for {user}. Change it in the dashboard:\n"
              "# edits made here by hand are replaced at the next save. Tệp do bảng điều khiển tạo ra.\n")
    clean = {g: {k: v for k, v in spec.items() if v} for g, spec in sorted(overlays.items())}
    clean = {g: spec for g, spec in clean.items() if spec}
    if not clean:
        return header + "overlays: {}\n"
    return header + yaml.safe_dump({"overlays": clean}, allow_unicode=True, sort_keys=False, default_flow_style=False)


def _field_of(error: ConfigError, text: str) -> str:
    """Which form field an error in the generated file belongs to."""
    lines = text.splitlines()
    line = (error.line or 1) - 1
    for i in range(min(line, len(lines) - 1), -1, -1):
        stripped = lines[i].strip()
        for name in ("allow", "deny", "closed_during"):
            if stripped.startswith(f"{name}:"):
                return name
    return "general"


def save_overlay(settings: Settings, user: User, group: str, form: OverlayForm) -> SaveResult:
    path = generated_file(settings, user.name)
    before_text = path.read_text("utf-8") if path.exists() else None
    overlays = read_overlays(path)
    clean_allow, clean_deny, field_errors = [], [], {}
    for name, items, out in (("allow", form.allow, clean_allow), ("deny", form.deny, clean_deny)):
        for item in items:
            item = item.strip().split("://", 1)[-1].split("/", 1)[0]
            if not item:
                continue
            try:
                out.append(normalise_host(item))
            except HostError:
                field_errors.setdefault(name, []).append(f"'{item}'")
    if field_errors:
        return SaveResult(False, {k: [f"not a site: {', '.join(v)}"] for k, v in field_errors.items()})
    overlays[group] = {"allow": sorted(set(clean_allow)), "deny": sorted(set(clean_deny))}
    if form.closed_during:
        overlays[group]["closed_during"] = form.closed_during
    text = render_overlays(user.name, overlays)
    shown = display_path(path)
    try:
        load_snapshot(settings, extra_policies=[(shown, text)], skip=frozenset({path.resolve()}))
    except ConfigErrors as e:
        errors: dict[str, list[str]] = {}
        for err in e.errors:
            key = _field_of(err, text) if err.source == shown else "general"
            errors.setdefault(key, []).append(f"{err.message}. {err.fix}" if err.fix else err.message)
        return SaveResult(False, errors)
    atomic_write(path, text.encode("utf-8"))
    aid = record(settings.db_path, user.name, "policy_saved", f"{group} ({display_path(path)})", before_text, text)
    return SaveResult(True, audit_id=aid)


def revert(settings: Settings, aid: int, user: User) -> None:
    """Put a generated policy file back as it was before the change `aid`."""
    conn = _conn(settings.db_path)
    try:
        row = conn.execute("SELECT action, target, before, after, reverted_by FROM audit WHERE id = ?", (aid,)).fetchone()
    finally:
        conn.close()
    if row is None or row[0] != "policy_saved":
        raise ActionError("audit_error_not_revertible")
    if row[4]:
        raise ActionError("audit_error_reverted")
    target_path = row[1].rsplit("(", 1)[1].rstrip(")")
    path = Path(target_path) if Path(target_path).is_absolute() else Path.cwd() / target_path
    if settings.policies_path.resolve() / GENERATED_DIR not in path.resolve().parents:
        raise ActionError("audit_error_not_revertible")
    current = path.read_text("utf-8") if path.exists() else None
    shown = display_path(path)
    extra = [(shown, row[2])] if row[2] is not None else []
    try:
        load_snapshot(settings, extra_policies=extra, skip=frozenset({path.resolve()}))
    except ConfigErrors as e:
        raise ActionError(str(e)) from None
    if row[2] is None:
        path.unlink(missing_ok=True)
    else:
        atomic_write(path, row[2].encode("utf-8"))
    new = record(settings.db_path, user.name, "policy_reverted", row[1], current, row[2])
    conn = _conn(settings.db_path)
    try:
        with conn:
            conn.execute("UPDATE audit SET reverted_by = ? WHERE id = ?", (new, aid))
    finally:
        conn.close()


def start_focus(db: Path, user: User, group: str, sites: list[str], minutes: float, note: str) -> Override:
    o = overrides_store.add(db, "focus", group, sites, minutes, user.name, note)
    record(db, user.name, "focus_started", f"{group} #{o.id}", None, json.dumps({"sites": list(o.domains),
                                                                                 "minutes": minutes}))
    return o


def stop_override(db: Path, user: User, oid: int) -> bool:
    ok = overrides_store.remove(db, oid)
    if ok:
        record(db, user.name, "override_stopped", f"#{oid}", None, None)
    return ok
