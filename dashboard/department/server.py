"""`schoolgate department ...`: the department's server and its commands.

    serve      the receiver, the department's pages and the published lists (HTTPS)
    register   add or update a school (id, name, province, district, levels, public key)
    disable    stop accepting a school's reports
    schools    list the registered schools and their state
    publish    sign and publish the harmful-domain lists and the baseline now
    key        print the department's public key (schools verify its lists with it)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import uvicorn

from addons.core.baseline import LEVELS
from addons.core.errors import ConfigErrors
from addons.core.export import valid_school_id
from addons.core.settings import BY_OPTION, Settings
from addons.infra import signing
from addons.infra.loader import ensure_data_dir, load_settings
from dashboard.department.app import create_department_app, load_department_categories
from dashboard.department.publish import department_key, publish
from dashboard.department.store import DepartmentStore
from dashboard.server import first_admin_token, shown_host

logger = logging.getLogger("department")
PUBLISH_SECONDS = 3600


def open_store(settings: Settings) -> DepartmentStore:
    ensure_data_dir(settings)
    store = DepartmentStore(settings.department_store, settings.zone)
    store.migrate()
    return store


@contextlib.contextmanager
def opened(settings: Settings) -> Iterator[DepartmentStore]:
    """The store for one command, closed after it."""
    store = open_store(settings)
    try:
        yield store
    finally:
        store.db.close()


def _publish_loop(store: DepartmentStore, settings: Settings, stop: threading.Event) -> None:
    categories = load_department_categories(settings)
    while not stop.is_set():
        try:
            result = publish(store, settings, categories)
            logger.info("Published %d harmful-domain lists%s.", len(result.lists),
                        f" and baseline {result.baseline}" if result.baseline else "")
        except ConfigErrors as e:
            logger.error("The baseline was not published (the previous one stays): %s", e)
        except Exception:
            logger.exception("Publishing failed; the previous files stay.")
        stop.wait(PUBLISH_SECONDS)


def serve(settings: Settings) -> int:
    store = open_store(settings)
    logging.basicConfig(level=logging.INFO, format="[department] %(message)s")
    scheme = "https" if settings.department_tls_cert else "http"
    host, port = settings.department_host, settings.department_port
    shown = shown_host(host)
    token = first_admin_token(settings, "department", f"{scheme}://{shown}:{port}",
                              "schoolgate user add NAME --role admin, with this server's settings")
    _, public = department_key(settings)
    print(f"[department] Public key for the schools' list sources: {public}", flush=True)
    storage = "PostgreSQL" if store.db.postgres else settings.department_store
    print(f"[department] schoolgate department server at {scheme}://{shown}:{port}/ (storage: {storage})",
          flush=True)
    stop = threading.Event()
    threading.Thread(target=_publish_loop, args=(store, settings, stop), daemon=True,
                     name="department publisher").start()
    try:
        uvicorn.run(create_department_app(settings, store, token), host=host, port=port, log_level="warning",
                    access_log=False, server_header=False,
                    ssl_certfile=settings.department_tls_cert or None, ssl_keyfile=settings.department_tls_key or None)
    finally:
        stop.set()
        store.db.close()
    return 0


def register(settings: Settings, args: argparse.Namespace) -> int:
    if not valid_school_id(args.school_id):
        print(f"schoolgate department register: '{args.school_id}' is not a valid school id. Fix: use letters, "
              "digits, '.', '_' and '-', for example 79-TH-0001", file=sys.stderr)
        return 2
    levels = [x.strip() for x in args.levels.split(",") if x.strip()]
    unknown = [x for x in levels if x not in LEVELS]
    if unknown:
        print(f"schoolgate department register: unknown level {', '.join(unknown)}. Fix: use "
              f"{', '.join(LEVELS)}", file=sys.stderr)
        return 2
    try:
        signing.check_public_key(args.public_key)
    except signing.SignatureError as e:
        print(f"schoolgate department register: {e}. Fix: paste the key `schoolgate export status` prints "
              "at the school", file=sys.stderr)
        return 2
    with opened(settings) as store:
        existed = store.school(args.school_id) is not None
        store.register(args.school_id, args.name, args.province, args.district, levels, args.public_key)
    print(f"School {args.school_id} {'updated' if existed else 'registered'}: {args.name}, {args.district}, "
          f"{args.province}. Its exports are accepted from now on.")
    return 0


def disable(settings: Settings, args: argparse.Namespace) -> int:
    with opened(settings) as store:
        found = store.disable(args.school_id)
    if not found:
        print(f"schoolgate department disable: no school '{args.school_id}'", file=sys.stderr)
        return 1
    print(f"School {args.school_id} disabled: its reports are refused until it is registered again.")
    return 0


def list_schools(settings: Settings, args: argparse.Namespace) -> int:
    today = date.today()
    with opened(settings) as store:
        rows = store.school_rows(today, today, int(time.time()),
                                 stale_hours=settings.department_stale_hours,
                                 stale_list_days=settings.department_stale_list_days)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    for r in rows:
        state = "disabled" if r["disabled"] else ", ".join(
            x for x, on in (("not reporting", r["not_reporting"]), ("stale lists", r["stale_lists"])) if on) or "ok"
        last = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["last_period_end"])) if r["last_period_end"] else "never"
        print(f"{r['id']:<16} {r['name'][:30]:<30} {r['province'][:16]:<16} last {last}  {state}")
    if not rows:
        print("No school registered yet: schoolgate department register ...")
    return 0


def publish_now(settings: Settings, args: argparse.Namespace) -> int:
    try:
        with opened(settings) as store:
            result = publish(store, settings, load_department_categories(settings))
    except ConfigErrors as e:
        for err in e.errors:
            print(err, file=sys.stderr)
        print("The baseline was not published; the previous one stays.", file=sys.stderr)
        return 1
    for name, n in sorted(result.lists.items()):
        print(f"published lists/{name}: {n} domains")
    print(f"published lists/baseline.yaml: version {result.baseline}" if result.baseline
          else "no baseline.yaml in the data directory: no baseline published")
    return 0


def show_key(settings: Settings, args: argparse.Namespace) -> int:
    ensure_data_dir(settings)
    _, public = department_key(settings)
    print(public)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="schoolgate department",
                                     description="The education department's server: receive the schools' "
                                                 "exports, show many schools, publish shared lists.")
    dsub = parser.add_subparsers(dest="department_command", required=True, metavar="ACTION")

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("--config", type=Path, default=None,
                       help="settings file (default: ./schoolgate.yaml if it exists)")
        q.add_argument("--set", action="append", metavar="OPTION=VALUE", default=[],
                       help="set a schoolgate_* option")

    common(dsub.add_parser("serve", help="run the receiver, the department's pages and the published lists"))
    q = dsub.add_parser("register", help="register a school (or update it)")
    common(q)
    q.add_argument("school_id")
    q.add_argument("--name", required=True)
    q.add_argument("--province", required=True)
    q.add_argument("--district", required=True)
    q.add_argument("--levels", required=True, help="comma separated: " + ", ".join(LEVELS))
    q.add_argument("--public-key", required=True, help="the key `schoolgate export status` prints at the school")
    q = dsub.add_parser("disable", help="refuse a school's reports")
    common(q)
    q.add_argument("school_id")
    q = dsub.add_parser("schools", help="the registered schools and their state")
    common(q)
    q.add_argument("--json", action="store_true")
    common(dsub.add_parser("publish", help="sign and publish the shared lists and the baseline now"))
    common(dsub.add_parser("key", help="print the department's public key"))
    return parser


COMMANDS = {"serve": lambda s, a: serve(s), "register": register, "disable": disable, "schools": list_schools,
            "publish": publish_now, "key": show_key}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = args.config or (Path("schoolgate.yaml") if Path("schoolgate.yaml").exists() else None)
    overrides = {}
    for spec in args.set:
        key, _, value = spec.partition("=")
        if key not in BY_OPTION:
            print(f"schoolgate department: unknown option '{key}'. Fix: use schoolgate_<setting>=VALUE",
                  file=sys.stderr)
            return 2
        overrides[BY_OPTION[key].name] = value
    try:
        settings, _ = load_settings(config, overrides)
    except ConfigErrors as e:
        print(e, file=sys.stderr)
        return 1
    return int(COMMANDS[args.department_command](settings, args))
