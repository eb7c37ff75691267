"""`schoolgate dashboard` / `python -m dashboard`: settings, the first-admin setup
link, uvicorn on the configured address."""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
from pathlib import Path

import uvicorn

from addons.core.errors import ConfigErrors
from addons.core.settings import BY_OPTION, Settings
from addons.infra import accounts
from addons.infra.loader import ensure_data_dir, load_settings
from addons.infra.store import migrate
from dashboard.app import create_app

logger = logging.getLogger("dashboard")



def shown_host(host: str) -> str:
    """The address to print for a server listening on `host` (a wildcard prints as loopback)."""
    return "127.0.0.1" if host in ("", "0.0.0.0") else host


def first_admin_token(settings: Settings, name: str, base_url: str, command: str) -> str:
    """With no account yet, a one-time setup token, printed with its link; else ''."""
    if accounts.count_users(settings.db_path):
        return ""
    token = secrets.token_urlsafe(24)
    print(f"[{name}] No account yet. Create the first admin at {base_url}/setup?token={token} (or run: {command})",
          flush=True)
    return token


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="schoolgate dashboard")
    parser.add_argument("--config", type=Path)
    parser.add_argument("--set", action="append", default=[], metavar="schoolgate_NAME=VALUE")
    args = parser.parse_args(argv)
    config = args.config or (Path("schoolgate.yaml") if Path("schoolgate.yaml").exists() else None)
    overrides = {}
    for spec in args.set:
        key, _, value = spec.partition("=")
        if key in BY_OPTION:
            overrides[BY_OPTION[key].name] = value
    try:
        settings, _ = load_settings(config, overrides)
    except ConfigErrors as e:
        print(e, file=sys.stderr)
        return 1
    ensure_data_dir(settings)
    migrate(settings.db_path)
    logging.basicConfig(level=logging.INFO, format="[dashboard] %(message)s")
    host, port = settings.dashboard_host, settings.dashboard_port
    shown = shown_host(host)
    token = first_admin_token(settings, "dashboard", f"http://{shown}:{port}", "schoolgate user add NAME --role admin")
    print(f"[dashboard] schoolgate dashboard at http://{shown}:{port}/", flush=True)
    uvicorn.run(create_app(settings, token), host=host, port=port, log_level="warning", access_log=False,
                server_header=False)
    return 0
