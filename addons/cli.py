"""The `schoolgate` command: run, check, explain."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from addons.core.domains import HostError, normalise_host
from addons.core.errors import ConfigError, ConfigErrors
from addons.core.model import RequestView, Verdict
from addons.core.settings import BY_OPTION, Settings
from addons.core.snapshot import Snapshot
from addons.infra.files import display_path

DEFAULT_CONFIG = Path("schoolgate.yaml")


def _print_errors(errors: list[ConfigError], out: Any = None) -> None:
    out = out or sys.stdout
    for e in errors:
        print(str(e), file=out)


def split_sets(sets: list[str]) -> tuple[dict[str, str], list[str]]:
    """`--set` values for schoolgate settings (by setting name) and the rest for mitmproxy."""
    ours: dict[str, str] = {}
    for spec in sets:
        key, sep, value = spec.partition("=")
        if not sep:
            raise SystemExit(f"schoolgate: --set needs OPTION=VALUE, got '{spec}'")
        if key in BY_OPTION:
            ours[BY_OPTION[key].name] = value
    return ours, list(sets)


def resolve_settings(args: argparse.Namespace) -> Settings:
    from addons.infra.loader import load_settings

    config: Path | None = args.config
    if config is None and DEFAULT_CONFIG.exists():
        config = DEFAULT_CONFIG
    if config is not None and not config.exists():
        print(f"{config}: settings file not found. Fix: check the path given to --config", file=sys.stderr)
        raise SystemExit(1)
    overrides, _ = split_sets(getattr(args, "set", None) or [])
    try:
        settings, warnings = load_settings(config, overrides)
    except ConfigErrors as e:
        _print_errors(e.errors, sys.stderr)
        raise SystemExit(1) from None
    _print_errors(warnings, sys.stderr)
    return settings


def load(settings: Settings) -> tuple[Snapshot, list[ConfigError]]:
    from addons.infra.loader import ensure_data_dir, load_snapshot

    ensure_data_dir(settings)
    result = load_snapshot(settings)
    return result.snapshot, result.warnings


# ----------------------------------------------------------------------------- run


def cmd_run(args: argparse.Namespace) -> int:
    settings = resolve_settings(args)
    from addons import runner

    return runner.run(settings, args.set or [])


# ----------------------------------------------------------------------------- check


def cmd_check(args: argparse.Namespace) -> int:
    settings = resolve_settings(args)
    for spec in args.set or []:
        if spec.partition("=")[0] not in BY_OPTION:
            print(f"schoolgate check: --set {spec}: only schoolgate settings apply here", file=sys.stderr)
            return 1
    try:
        snapshot, warnings = load(settings)
    except ConfigErrors as e:
        _print_errors(e.errors)
        n = len(e.errors)
        print(f"\n{n} error{'s' if n != 1 else ''} found; nothing was changed.")
        return 1
    _print_errors(warnings)
    info = snapshot.info
    locked = sorted(snapshot.categories.locked)
    print(f"OK: policy {snapshot.version}")
    print(f"  policies:   {display_path(settings.policies_path)} ({info['policy_files']} files)")
    print(f"  blocklists: {display_path(settings.blocklists_path)} ({info['list_files']} list files)")
    print(f"  groups:     {info['groups']} ({', '.join(sorted(g for g in snapshot.policy.groups if not g.startswith('grade-')))}, grade-1..12)")
    print(f"  clients:    {info['clients']} address ranges (other devices: group 'default')")
    print(f"  categories: {info['categories']} ({len(locked)} locked: {', '.join(locked) or 'none'})")
    print(f"  entries:    {info['domains']} domains, {info['urls']} URLs")
    return 0


# ----------------------------------------------------------------------------- explain


def parse_url(text: str) -> RequestView:
    raw = text if "://" in text else "http://" + text
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"'{text}' is not an http or https URL")
    host = normalise_host(parts.hostname or "")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return RequestView(host, parts.path or "/", parts.scheme, port, "GET", parts.query)


def verdict_json(verdict: Verdict, snapshot: Snapshot, req: RequestView, at: datetime,
                 client_range: str | None) -> dict[str, Any]:
    cat = snapshot.categories.by_id.get(verdict.category or "")
    group = snapshot.policy.groups[verdict.group]
    return {
        "url": req.url,
        "action": verdict.action.value,
        "reason": verdict.reason.value,
        "category": verdict.category,
        "category_name": {"vi": cat.name_vi, "en": cat.name_en} if cat else None,
        "locked": bool(cat and cat.locked),
        "categories": list(verdict.categories),
        "group": verdict.group,
        "group_name": {"vi": group.name_vi, "en": group.name_en},
        "grade": verdict.grade,
        "level": verdict.level,
        "rule": verdict.rule,
        "origin": str(verdict.origin) if verdict.origin else None,
        "matched": verdict.matched,
        "client_range": client_range,
        "at": at.isoformat(timespec="minutes"),
        "policy_version": snapshot.version,
    }


def cmd_explain(args: argparse.Namespace) -> int:
    settings = resolve_settings(args)
    try:
        req = parse_url(args.url)
    except (ValueError, HostError) as e:
        print(f"schoolgate explain: {e}. Fix: give a URL such as https://example.com/page", file=sys.stderr)
        return 2
    try:
        snapshot, _ = load(settings)
    except ConfigErrors as e:
        _print_errors(e.errors, sys.stderr)
        return 1
    client_range = None
    if args.client:
        match = snapshot.client(args.client)
        group_id = match.group
        client_range = match.range.name or match.range.network if match.range else None
    elif args.grade is not None:
        group_id = f"grade-{args.grade}"
    else:
        group_id = args.group
    if group_id not in snapshot.policy.groups:
        known = ", ".join(sorted(snapshot.policy.groups))
        print(f"schoolgate explain: unknown group '{group_id}'. Fix: use one of {known}", file=sys.stderr)
        return 2
    if args.at:
        try:
            at = datetime.fromisoformat(args.at)
        except ValueError:
            print(f"schoolgate explain: --at '{args.at}' is not an ISO time. Fix: write 2026-11-25T09:30",
                  file=sys.stderr)
            return 2
        if at.tzinfo is None:
            at = at.replace(tzinfo=snapshot.tz)
        at = at.astimezone(snapshot.tz)
    else:
        at = snapshot.now()
    verdict = snapshot.decide(req, snapshot.group(group_id), at)
    data = verdict_json(verdict, snapshot, req, at, client_range)
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
        return 0
    print(f"{data['url']} → {data['action'].upper()} ({data['reason']})")
    gname = data["group_name"]
    grade = f", grade {data['grade']}" if data["grade"] else ""
    level = f", level {data['level']}" if data["level"] else ""
    print(f"  group:    {data['group']} ({gname['vi']} / {gname['en']}{grade}{level})")
    if client_range:
        print(f"  client:   {args.client} in range {client_range}")
    if data["category"]:
        cn = data["category_name"]
        lock = " [locked: no policy can unblock it]" if data["locked"] else ""
        print(f"  category: {data['category']} ({cn['vi']} / {cn['en']}){lock}")
    elif data["categories"]:
        print(f"  listed in: {', '.join(data['categories'])}")
    print(f"  rule:     {data['rule']}")
    if data["origin"]:
        print(f"  from:     {data['origin']}")
    print(f"  at:       {data['at']} (policy {data['policy_version']})")
    return 0


# ----------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="schoolgate",
        description="A filtering proxy for school networks and home gateways.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", type=Path, default=None,
                       help="settings file (default: ./schoolgate.yaml if it exists)")
        p.add_argument("--set", action="append", metavar="OPTION=VALUE", default=[],
                       help="set an option (schoolgate_* settings, and for run any mitmproxy option)")

    p = sub.add_parser("run", help="run the filtering proxy")
    common(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("check", help="validate settings, policies and lists")
    common(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("explain", help="show the decision for a URL")
    common(p)
    p.add_argument("url")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--client", metavar="IP", help="decide as the device with this address")
    who.add_argument("--grade", type=int, choices=range(1, 13), metavar="N", help="decide for grade N (1-12)")
    who.add_argument("--group", metavar="ID", help="decide for this group")
    p.add_argument("--at", metavar="ISO-TIME", help="decide at this time (default: now)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_explain)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
