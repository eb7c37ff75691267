"""`schoolgate lists update|status|sign|keygen|hash` (the command's I/O side)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from datetime import datetime

from ..core.errors import Collector
from ..core.settings import Settings
from . import signing
from .loader import ensure_data_dir, load_categories, load_sources
from .sources import Status, due, read_status, update_source


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "never"


def update_or_status(args: argparse.Namespace, settings: Settings) -> int:
    errors = Collector()
    categories, _ = load_categories(settings, errors)
    sources = load_sources(settings, categories, errors) if not errors.errors else []
    if errors.errors:
        for e in errors.errors:
            print(e)
        return 1
    ensure_data_dir(settings)
    if args.lists_command == "status":
        statuses = [read_status(settings, s.name) for s in sources]
        if args.json:
            print(json.dumps([{**dataclasses.asdict(st), "enabled": s.enabled, "refresh": s.refresh,
                               "due": due(s, st, time.time())} for s, st in zip(sources, statuses, strict=True)],
                             ensure_ascii=False, indent=1))
            return 0
        if not sources:
            print("No list sources: add them to blocklists/sources.yaml (see the commented examples there).")
            return 0
        print(f"{'source':<22} {'last attempt':<17} {'last success':<17} {'entries':>9}  {'ETag':<14} last error")
        for s, st in zip(sources, statuses, strict=True):
            flag = "" if s.enabled else " (disabled)"
            print(f"{s.name + flag:<22} {_when(st.last_attempt):<17} {_when(st.last_success):<17} "
                  f"{st.entries:>9}  {st.etag[:14]:<14} {st.last_error or '-'}")
        return 0
    todo = [s for s in sources if s.enabled]
    if args.source:
        todo = [s for s in sources if s.name == args.source]
        if not todo:
            names = ", ".join(s.name for s in sources) or "none configured"
            print(f"schoolgate lists update: unknown source '{args.source}'. Fix: use one of {names}",
                  file=sys.stderr)
            return 2
    elif not args.force:
        now = time.time()
        todo = [s for s in todo if due(s, read_status(settings, s.name), now)]
    failed = 0
    for s in todo:
        st: Status = update_source(s, settings, categories, force=args.force or bool(args.source))
        if st.last_error:
            failed += 1
            print(f"{s.name}: FAILED: {st.last_error} (the previous copy stays in use)")
        else:
            print(f"{s.name}: ok, {st.entries} entries")
    if not todo:
        print("Nothing is due (use --force, or name a source).")
    return 1 if failed else 0


def sign_or_keygen(args: argparse.Namespace) -> int:
    if args.lists_command == "keygen":
        if args.out.exists():
            print(f"{args.out} exists; not overwritten. Fix: choose another --out", file=sys.stderr)
            return 1
        private, public = signing.generate()
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(private + "\n")
        print(f"Private key written to {args.out} (keep it secret, off the school gateways).")
        print(f"Public key (give it to the schools as authority_public_key): {public}")
        return 0
    try:
        private = args.key.read_text("ascii").strip()
        data = args.file.read_bytes()
    except OSError as e:
        print(f"schoolgate lists sign: {e}", file=sys.stderr)
        return 1
    try:
        sig = signing.sign(data, private)
    except signing.SignatureError as e:
        print(f"schoolgate lists sign: {args.key}: {e}", file=sys.stderr)
        return 1
    out = args.file.with_name(args.file.name + ".sig")
    out.write_text(sig, encoding="ascii")
    print(f"Signature written to {out} (public key {signing.public_key_of(private)})")
    return 0


def hash_images(args: argparse.Namespace) -> int:
    """Image-hash list lines for image files; the entry id is the file name."""
    from .imagehash import list_lines

    failed = 0
    for path in args.files:
        try:
            data = path.read_bytes()
        except OSError as e:
            print(f"schoolgate lists hash: {e}", file=sys.stderr)
            failed += 1
            continue
        lines = list_lines(data, path.name.replace(" ", "_"))
        if not any(line.startswith("pdq ") for line in lines):
            print(f"# {path}: exact hashes only (no usable PDQ hash: not a picture, or too plain)")
        print("\n".join(lines))
    return 1 if failed else 0


__all__ = ["hash_images", "sign_or_keygen", "update_or_status"]
