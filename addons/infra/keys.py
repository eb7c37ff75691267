"""The secret behind client pseudonyms: stored in the data directory (mode 0600),
rotated on a schedule, and the old secret destroyed so old pseudonyms cannot be
linked to new ones."""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path

from ..core.privacy import Pseudonymizer
from .files import atomic_write

KEY_FILE = "pseudonym.key"


def load_or_rotate(data_dir: Path, rotation_days: float, now: float | None = None) -> Pseudonymizer:
    """The current pseudonymizer; creates or rotates the key when it is due."""
    now = time.time() if now is None else now
    path = data_dir / KEY_FILE
    try:
        data = json.loads(path.read_text("ascii"))
        created = float(data["created"])
        secret = bytes.fromhex(data["secret"])
        key_id = str(data["id"])
        if now - created < rotation_days * 86_400 and len(secret) >= 16:
            return Pseudonymizer(secret, key_id)
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        pass
    secret = secrets.token_bytes(32)
    key_id = secrets.token_hex(2)
    atomic_write(path, json.dumps({"id": key_id, "created": now, "secret": secret.hex()}).encode(), mode=0o600)
    os.chmod(path, 0o600)
    return Pseudonymizer(secret, key_id)


SELFTEST_TOKEN_FILE = "selftest.token"


def selftest_token(data_dir: Path) -> str:
    """The secret that lets `schoolgate selftest` ask the running proxy to decide as
    a given group (created on first use, readable only by the schoolgate user)."""
    path = data_dir / SELFTEST_TOKEN_FILE
    try:
        token = path.read_text("ascii").strip()
        if len(token) >= 32:
            return token
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    token = secrets.token_hex(24)
    atomic_write(path, token.encode(), mode=0o600)
    return token
