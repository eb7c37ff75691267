"""`schoolgate export status|push` (the command's I/O side)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime

from ..core import __version__
from ..core.errors import ConfigErrors
from ..core.settings import Settings
from . import export
from .loader import ensure_data_dir, load_snapshot


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "never"


def run(args: argparse.Namespace, settings: Settings) -> int:
    ensure_data_dir(settings)
    if args.export_command == "status":
        st = export.status(settings.db_path, settings)
        if args.json:
            print(json.dumps(st, ensure_ascii=False))
            return 0
        print(f"department:   {st['department_url'] or '(not set: nothing is exported; set department_url)'}")
        print(f"school id:    {st['school_id'] or '(not set)'}")
        print(f"public key:   {st['public_key']}  (give it to the department to register the school)")
        pending = ", ".join(f"{n} {k.replace('_', ' ')}s" for k, n in sorted(st["pending"].items())) or "nothing"
        print(f"waiting:      {pending}" + (f" (oldest from {_when(st['oldest_pending'])})" if st["pending"] else ""))
        print(f"delivered:    {st['delivered']} (last {_when(st['last_delivered'])})")
        if st["retry_after"] and st["retry_after"] > time.time():
            print(f"next try:     {_when(st['retry_after'])} (after {st['failures']} failed attempts)")
        if st["last_error"]:
            print(f"last error:   {st['last_error']}")
        return 0
    if not settings.department_url:
        print("schoolgate export push: department_url is not set. Fix: set department_url and school_id in the "
              "settings file", file=sys.stderr)
        return 1
    info: dict[str, object] = {}
    lists: list[tuple[str, str, int, float]] = []
    policy_version = ""
    try:
        snap = load_snapshot(settings).snapshot
        info, policy_version = snap.info, snap.version
        lists = [(m.path, m.category, m.entries, m.updated) for m in getattr(snap.lists, "sources", ())]
    except ConfigErrors as e:
        print(f"Policies or lists have errors ({len(e.errors)}); the export carries no list figures. "
              "Run `schoolgate check`.", file=sys.stderr)
    now = time.time()
    queued = export.enqueue_due(settings.db_path, settings, now, version=__version__,
                                policy_version=policy_version,
                                baseline_version=str(info.get("baseline_version", "")), lists=lists)
    result = export.deliver_due(settings.db_path, settings, now, force=True, limit=10_000)
    print(f"queued {len(queued)} exports; delivered {result.delivered}; failed {result.failed}")
    if result.error:
        print(f"last error: {result.error}")
    return 0 if not result.failed else 1
