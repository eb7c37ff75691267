"""The `schoolgate` command: run, check, explain."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date, datetime, timedelta
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


def load_or_report(settings: Settings) -> Snapshot | None:
    """The snapshot, or None after printing every error (the command then exits 1)."""
    try:
        snapshot, _ = load(settings)
    except ConfigErrors as e:
        _print_errors(e.errors, sys.stderr)
        return None
    return snapshot


# ----------------------------------------------------------------------------- run


def cmd_run(args: argparse.Namespace) -> int:
    if args.workers is not None and not 0 <= args.workers <= 256:
        print(f"schoolgate run: --workers {args.workers}: use 0 (one per CPU core) or 1 to 256", file=sys.stderr)
        return 2
    if args.profile:  # the same as --set schoolgate_profile=home
        args.set = [*args.set, f"schoolgate_profile={args.profile}"]
    settings = resolve_settings(args)
    from addons import runner

    config = args.config or (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None)
    return runner.run(settings, args.set or [], str(config) if config else None, workers=args.workers,
                      argv=getattr(args, "argv", None) or sys.argv[1:])


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
    print(f"  entries:    {info['domains']} domains, {info['urls']} URLs, {info['image_hashes']} image hashes")
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
    snapshot = load_or_report(settings)
    if snapshot is None:
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
    from addons.core.overrides import Overrides
    from addons.infra.overrides_store import active

    overrides = Overrides(active(settings.db_path))
    verdict = snapshot.decide(req, snapshot.group(group_id), at, overrides)
    data = verdict_json(verdict, snapshot, req, at, client_range)
    data["overrides"] = [f"#{o.id} {o.kind} {o.group}: {', '.join(o.domains)}"
                         for o in overrides.active(snapshot.group(group_id).chain, at.timestamp())]
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
    for line in data["overrides"]:
        print(f"  override: {line}")
    if data["origin"]:
        print(f"  from:     {data['origin']}")
    print(f"  at:       {data['at']} (policy {data['policy_version']})")
    return 0


# ----------------------------------------------------------------------------- report


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date; write YYYY-MM-DD") from None


def cmd_report(args: argparse.Namespace) -> int:
    from addons.core import __version__
    from addons.core import report as corereport
    from addons.infra.reports import build_report, render_html
    from addons.infra.store import migrate

    settings = resolve_settings(args)
    snapshot = load_or_report(settings)
    if snapshot is None:
        return 1
    end = args.to or datetime.now(snapshot.tz).date()
    start = args.from_ or end - timedelta(days=364)
    if start > end:
        print("schoolgate report: --from is after --to. Fix: swap the dates", file=sys.stderr)
        return 2
    migrate(settings.db_path)
    entries: dict[str, int] = {}
    for source in getattr(snapshot.lists, "sources", ()):
        entries[source.category] = entries.get(source.category, 0) + source.entries
    built = ""
    index_files = sorted((settings.data_path / "index").glob("*.idx"))
    if index_files:
        built = datetime.fromtimestamp(index_files[-1].stat().st_mtime, snapshot.tz).strftime("%d/%m/%Y %H:%M")
    names = {c.id: (c.name_vi, c.name_en) for c in snapshot.categories}
    report = build_report(settings.db_path, start, end, snapshot.tz, school_name=settings.school_name,
                          school_id=settings.school_id, version=__version__, category_names=names,
                          list_entries=entries, lists_built=built)
    lang = args.lang or settings.language
    if args.format == "json":
        text = corereport.render_json(report)
    elif args.format == "csv":
        text = corereport.render_csv(report, lang)
    elif args.format == "html":
        text = render_html(report, lang)
    else:
        text = corereport.render_text(report, lang)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"Report written to {args.output}")
    else:
        sys.stdout.write(text)
    return 0


# ----------------------------------------------------------------------------- selftest


def cmd_selftest(args: argparse.Namespace) -> int:
    from addons.infra.keys import selftest_token
    from addons.infra.reports import store_selftest
    from addons.infra.selftest import run_checks

    settings = resolve_settings(args)
    snapshot = load_or_report(settings)
    if snapshot is None:
        return 1
    if args.grade is not None:
        groups = [f"grade-{args.grade}"]
    elif args.group:
        groups = [args.group]
    else:
        groups = [g for g in ("preschool", *(f"grade-{n}" for n in range(1, 13)), "staff", "guest", "default")
                  if g in snapshot.policy.groups]
    missing = [g for g in groups if g not in snapshot.policy.groups]
    if missing:
        print(f"schoolgate selftest: unknown group '{missing[0]}'", file=sys.stderr)
        return 2
    host = args.proxy_host or (settings.listen_host if settings.listen_host not in ("", "0.0.0.0") else "127.0.0.1")
    port = args.proxy_port or settings.listen_port
    token = selftest_token(settings.data_path)
    checks = run_checks(snapshot, settings, groups, token, host, port, snapshot.now())
    failures = [c for c in checks if not c.ok]
    print(f"{'group':<16} {'check':<26} {'host':<34} {'expected':<8} {'got':<8} result")
    for c in checks:
        got = c.got.value if c.got else "-"
        result = "ok" if c.ok else f"FAIL ({c.reason})"
        print(f"{c.group:<16} {c.what:<26} {c.host[:34]:<34} {c.expected.value:<8} {got:<8} {result}")
    unreachable = all(c.got is None for c in checks) and checks
    if not unreachable:
        for gid in groups:
            mine = [c for c in checks if c.group == gid]
            store_selftest(settings.db_path, gid, len(mine), sum(not c.ok for c in mine),
                           [{"check": c.what, "expected": c.expected.value,
                             "got": c.got.value if c.got else None, "reason": c.reason} for c in mine])
    print(f"\n{len(checks) - len(failures)} of {len(checks)} checks passed"
          + ("" if not unreachable else f"; the proxy at {host}:{port} did not answer (results not stored)"))
    return 0 if not failures else 1


# ----------------------------------------------------------------------------- overrides


def cmd_override(args: argparse.Namespace) -> int:
    from addons.infra import overrides_store

    settings = resolve_settings(args)
    db = settings.db_path
    settings.data_path.mkdir(parents=True, exist_ok=True)
    if args.override_command == "add":
        snapshot = load_or_report(settings)
        if snapshot is None:
            return 1
        group = f"grade-{args.grade}" if args.grade else args.group
        if group not in snapshot.policy.groups:
            print(f"schoolgate override: unknown group '{group}'. Fix: use one of "
                  f"{', '.join(sorted(snapshot.policy.groups))}", file=sys.stderr)
            return 2
        kind, sites = ("focus", args.allow) if args.focus else ("unblock", args.unblock)
        try:
            o = overrides_store.add(db, kind, group, sites or [], args.minutes, args.by, args.note or "")
        except ValueError as e:
            print(f"schoolgate override: {e}", file=sys.stderr)
            return 2
        locked = [d for d in o.domains if any(h.locked for h in snapshot.lists.lookup(d))]
        until = datetime.fromtimestamp(o.ends, snapshot.tz).strftime("%H:%M %d/%m")
        print(f"Override #{o.id}: {kind} for {group} until {until}: {', '.join(o.domains)}")
        if locked:
            print(f"Note: {', '.join(locked)} is on a locked (illegal-content) list and stays blocked.")
        return 0
    if args.override_command == "remove":
        if overrides_store.remove(db, args.id):
            print(f"Override #{args.id} removed; the proxy applies it within seconds.")
            return 0
        print(f"schoolgate override: no override #{args.id} in force", file=sys.stderr)
        return 1
    items = overrides_store.active(db)
    tz = settings.zone
    if args.json:
        print(json.dumps([o.__dict__ for o in items], ensure_ascii=False))
        return 0
    if not items:
        print("No overrides in force.")
    for o in items:
        print(f"#{o.id:<4} {o.kind:<8} {o.group:<16} until {datetime.fromtimestamp(o.ends, tz).strftime('%H:%M %d/%m')}"
              f"  {', '.join(o.domains)}  (by {o.created_by}{'; ' + o.note if o.note else ''})")
    return 0


# ----------------------------------------------------------------------------- ca, gateway


def cmd_ca(args: argparse.Namespace) -> int:
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    from addons.runner import ensure_ca

    settings = resolve_settings(args)
    cert_path = ensure_ca(settings.ca_path, settings.school_name)
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    der = cert.public_bytes(Encoding.DER)
    fp = hashlib.sha256(der).hexdigest().upper()
    print(f"CA certificate: {cert_path}")
    print(f"  subject:  {cert.subject.rfc4514_string()}")
    print(f"  valid:    {cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d}")
    print(f"  SHA-256:  {':'.join(fp[i:i + 2] for i in range(0, len(fp), 2))}")
    if args.export_pem:
        Path(args.export_pem).write_bytes(cert.public_bytes(Encoding.PEM))
        print(f"Written {args.export_pem} (PEM)")
    if args.export_der:
        Path(args.export_der).write_bytes(der)
        print(f"Written {args.export_der} (DER)")
    return 0


def cmd_gateway(args: argparse.Namespace) -> int:
    import subprocess

    from addons.core.gateway import SYSCTL, ruleset, student_networks

    settings = resolve_settings(args)
    snapshot = load_or_report(settings)
    if snapshot is None:
        return 1
    interfaces = [i.strip() for i in (args.interfaces or settings.gateway_interfaces).split(",") if i.strip()]
    v4, v6 = student_networks(snapshot.policy)
    try:
        text = ruleset(interfaces, v4, v6, args.proxy_port or settings.listen_port)
    except ValueError as e:
        print(f"schoolgate gateway: {e}", file=sys.stderr)
        return 2
    if not args.apply:
        print(text)
        print("# sysctl:\n" + "".join(f"#   {line}\n" for line in SYSCTL.splitlines() if line and not line.startswith("#")))
        return 0
    out = subprocess.run(["nft", "-f", "-"], input=text, text=True, capture_output=True)
    if out.returncode != 0:
        print(f"schoolgate gateway: nft refused the rules: {out.stderr.strip()}", file=sys.stderr)
        return 1
    print(f"Applied: {len(v4) + len(v6)} student ranges on {', '.join(interfaces)} -> port "
          f"{args.proxy_port or settings.listen_port}")
    return 0


# ----------------------------------------------------------------------------- dashboard, users


def dashboard_command(args: argparse.Namespace) -> list[str]:
    """The dashboard runs as its own process (`python -m dashboard`), never imported here."""
    cmd = [sys.executable, "-m", "dashboard"]
    if args.config:
        cmd += ["--config", str(args.config)]
    for spec in args.set or []:
        if spec.partition("=")[0] in BY_OPTION:
            cmd += ["--set", spec]
    return cmd


def cmd_dashboard(args: argparse.Namespace) -> int:
    resolve_settings(args)
    cmd = dashboard_command(args)
    os.execv(cmd[0], cmd)
    return 0  # not reached


def cmd_department(args: argparse.Namespace) -> int:
    """The department's server and commands live with the dashboard (`python -m dashboard.department`)."""
    cmd = [sys.executable, "-m", "dashboard.department", *args.rest]
    os.execv(cmd[0], cmd)
    return 0  # not reached


def cmd_export(args: argparse.Namespace) -> int:
    from addons.infra import export_cli

    return export_cli.run(args, resolve_settings(args))


def cmd_user(args: argparse.Namespace) -> int:
    import getpass

    from addons.infra import accounts

    settings = resolve_settings(args)
    settings.data_path.mkdir(parents=True, exist_ok=True)
    db = settings.db_path
    try:
        if args.user_command == "list":
            for u in accounts.users(db):
                print(f"{u.name:<20} {u.role:<11} {', '.join(u.groups) or '-':<30} "
                      f"{'safeguarding' if u.safeguarding else ''}{' (disabled)' if u.disabled else ''}")
            return 0
        if args.user_command == "disable":
            accounts.disable_user(db, args.name)
            print(f"User {args.name} disabled.")
            return 0
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass(f"Password for {args.name}: ")
            if getpass.getpass("Again: ") != password:
                print("The passwords differ.", file=sys.stderr)
                return 1
        if args.user_command == "passwd":
            accounts.set_password(db, args.name, password)
            print(f"Password of {args.name} changed; their sessions are signed out.")
            return 0
        groups = [g for g in (args.groups or "").split(",") if g]
        user = accounts.add_user(db, args.name, password, args.role, groups, args.safeguarding, args.language)
        print(f"User {user.name} ({user.role}{': ' + ', '.join(user.groups) if user.groups else ''}) created.")
        return 0
    except accounts.AccountError as e:
        print(f"schoolgate user: {e}", file=sys.stderr)
        return 1


# ----------------------------------------------------------------------------- lists


def cmd_lists(args: argparse.Namespace) -> int:
    from addons.infra import lists_cli

    if args.lists_command in ("sign", "keygen"):
        return lists_cli.sign_or_keygen(args)
    if args.lists_command == "hash":
        return lists_cli.hash_images(args)
    settings = resolve_settings(args)
    return lists_cli.update_or_status(args, settings)


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
    p.add_argument("--workers", type=int, metavar="N", default=None,
                   help="proxy processes on the one address (default: the workers setting; 0 there: one per core)")
    p.add_argument("--profile", choices=("school", "home"), default=None,
                   help="school (default) or home: a family's gateway with the parents' setup page (docs/home.md)")
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

    p = sub.add_parser("report", help="report for a period (the yearly report: --from and --to)")
    common(p)
    p.add_argument("--from", dest="from_", type=parse_date, metavar="DATE", help="first day (default: a year ago)")
    p.add_argument("--to", type=parse_date, metavar="DATE", help="last day (default: today)")
    p.add_argument("--format", choices=("text", "json", "csv", "html"), default="text")
    p.add_argument("--lang", choices=("vi", "en"), help="language (default: the language setting)")
    p.add_argument("--output", metavar="FILE", help="write to a file instead of the screen")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("ca", help="the school's CA certificate: path, fingerprint, export")
    common(p)
    p.add_argument("--export-pem", metavar="FILE")
    p.add_argument("--export-der", metavar="FILE")
    p.set_defaults(func=cmd_ca)

    p = sub.add_parser("gateway", help="print or apply the gateway's nftables rules")
    common(p)
    p.add_argument("--interfaces", help="student-facing interfaces (default: setting gateway_interfaces)")
    p.add_argument("--proxy-port", type=int, help="where transparent traffic goes (default: listen_port)")
    p.add_argument("--apply", action="store_true", help="load the rules with nft (as root)")
    p.set_defaults(func=cmd_gateway)

    p = sub.add_parser("dashboard", help="run the web dashboard (also started by `schoolgate run`)")
    common(p)
    p.set_defaults(func=cmd_dashboard)

    p = sub.add_parser("export", help="the export to the education department: status, push")
    esub = p.add_subparsers(dest="export_command", required=True, metavar="ACTION")
    q = esub.add_parser("status", help="what waits in the outbox, the last delivery, the school's public key")
    common(q)
    q.add_argument("--json", action="store_true")
    q = esub.add_parser("push", help="queue the exports that are due and deliver the outbox now")
    common(q)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("department", add_help=False,
                       help="the education department's server (schoolgate department --help)")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_department)

    p = sub.add_parser("user", help="dashboard accounts: add, list, passwd, disable")
    usub = p.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    q = usub.add_parser("add", help="create an account")
    common(q)
    q.add_argument("name")
    q.add_argument("--role", choices=("admin", "teacher", "department"), required=True)
    q.add_argument("--groups", help="teacher's groups, comma separated (grade-7,class-7a)")
    q.add_argument("--safeguarding", action="store_true", help="designated to see safeguarding alerts")
    q.add_argument("--language", choices=("vi", "en"), default="vi")
    q.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    q = usub.add_parser("passwd", help="change a password")
    common(q)
    q.add_argument("name")
    q.add_argument("--password-stdin", action="store_true")
    q = usub.add_parser("list", help="list accounts")
    common(q)
    q = usub.add_parser("disable", help="disable an account")
    common(q)
    q.add_argument("name")
    p.set_defaults(func=cmd_user)

    p = sub.add_parser("override", help="teachers' overrides: focus mode, unblock a site")
    osub = p.add_subparsers(dest="override_command", required=True, metavar="ACTION")
    q = osub.add_parser("add", help="start focus mode or unblock a site for a grade, class or group")
    common(q)
    who = q.add_mutually_exclusive_group(required=True)
    who.add_argument("--grade", type=int, choices=range(1, 13), metavar="N")
    who.add_argument("--group", metavar="ID")
    what = q.add_mutually_exclusive_group(required=True)
    what.add_argument("--focus", action="store_true", help="only the --allow sites are open")
    what.add_argument("--unblock", action="append", metavar="SITE", help="open this site (repeat for more)")
    q.add_argument("--allow", action="append", metavar="SITE", help="a site of the focus list (repeat)")
    q.add_argument("--minutes", type=float, default=45, help="how long (default 45)")
    q.add_argument("--by", default=os.environ.get("USER", "admin"), help="who asks (for the audit)")
    q.add_argument("--note", help="a note, for example the lesson")
    q = osub.add_parser("list", help="overrides in force")
    common(q)
    q.add_argument("--json", action="store_true")
    q = osub.add_parser("remove", help="end an override now")
    common(q)
    q.add_argument("id", type=int)
    p.set_defaults(func=cmd_override)

    p = sub.add_parser("lists", help="list sources: update, status, sign, hash")
    lsub = p.add_subparsers(dest="lists_command", required=True, metavar="ACTION")
    q = lsub.add_parser("update", help="update the list sources now (all that are due, or one)")
    common(q)
    q.add_argument("source", nargs="?", help="only this source (updated even if not due)")
    q.add_argument("--force", action="store_true", help="download even if not changed (no ETag)")
    q = lsub.add_parser("status", help="per source: last attempt, last success, entries, last error")
    common(q)
    q.add_argument("--json", action="store_true")
    q = lsub.add_parser("sign", help="sign a list file for publication (writes FILE.sig)")
    q.add_argument("file", type=Path)
    q.add_argument("--key", type=Path, required=True, help="private key file from `schoolgate lists keygen`")
    q = lsub.add_parser("hash", help="print image-hash list lines (sha256, md5, pdq) for image files")
    q.add_argument("files", type=Path, nargs="+", metavar="IMAGE")
    q = lsub.add_parser("keygen", help="create a signing key pair for publishing lists")
    q.add_argument("--out", type=Path, required=True, help="where to write the private key (mode 0600)")
    p.set_defaults(func=cmd_lists)

    p = sub.add_parser("selftest", help="check through the running proxy that blocked categories are blocked")
    common(p)
    who = p.add_mutually_exclusive_group()
    who.add_argument("--grade", type=int, choices=range(1, 13), metavar="N", help="test grade N only")
    who.add_argument("--group", metavar="ID", help="test this group only")
    p.add_argument("--proxy-host", help="address of the running proxy (default: from the settings)")
    p.add_argument("--proxy-port", type=int, help="port of the running proxy (default: from the settings)")
    p.set_defaults(func=cmd_selftest)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["department"]:  # everything after it is the department's (argparse would take --help)
        return cmd_department(argparse.Namespace(rest=argv[1:]))
    args = build_parser().parse_args(argv)
    args.argv = argv  # `run --workers N` starts the other workers with the same command line
    if getattr(args, "set", None):
        args.set = last_wins(args.set)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # `schoolgate explain ... | head`
        sys.stderr.close()
        return 0


def last_wins(sets: list[str]) -> list[str]:
    """A repeated `--set` of a schoolgate setting keeps its last value. mitmproxy's own
    options keep mitmproxy's rules (some, such as `mode`, take several values)."""
    out: list[str] = []
    last = {spec.partition("=")[0]: i for i, spec in enumerate(sets)}
    for i, spec in enumerate(sets):
        name = spec.partition("=")[0]
        if name not in BY_OPTION or last[name] == i:
            out.append(spec)
    return out


if __name__ == "__main__":
    sys.exit(main())
