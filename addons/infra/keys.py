"""The secret behind client pseudonyms: stored in the data directory (mode 0600),
rotated on a schedule, and the old secret destroyed so old pseudonyms cannot be
linked to new ones."""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import time
from pathlib import Path

from ..core.privacy import Pseudonymizer
from .files import atomic_write

KEY_FILE = "pseudonym.key"


def _read_key(path: Path, rotation_days: float, now: float) -> Pseudonymizer | None:
    try:
        data = json.loads(path.read_text("ascii"))
        created = float(data["created"])
        secret = bytes.fromhex(data["secret"])
        key_id = str(data["id"])
        if now - created < rotation_days * 86_400 and len(secret) >= 16:
            return Pseudonymizer(secret, key_id)
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        pass
    return None


def load_or_rotate(data_dir: Path, rotation_days: float, now: float | None = None) -> Pseudonymizer:
    """The current pseudonymizer; creates or rotates the key when it is due. Several
    proxy workers may ask at once: the first rotates, the others read its key."""
    now = time.time() if now is None else now
    path = data_dir / KEY_FILE
    current = _read_key(path, rotation_days, now)
    if current is not None:
        return current
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / f"{KEY_FILE}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = _read_key(path, rotation_days, now)
        if current is not None:
            return current
        secret = secrets.token_bytes(32)
        key_id = secrets.token_hex(2)
        atomic_write(path, json.dumps({"id": key_id, "created": now, "secret": secret.hex()}).encode(),
                     mode=0o600)
        os.chmod(path, 0o600)
        return Pseudonymizer(secret, key_id)


SELFTEST_TOKEN_FILE = "selftest.token"


def shared_secret(data_dir: Path, name: str) -> str:
    """A secret in the data directory (mode 0600) that every proxy worker process
    shares: created once by the first to ask, read by the others."""
    path = data_dir / name

    def read() -> str | None:
        try:
            token = path.read_text("ascii").strip()
        except (FileNotFoundError, UnicodeDecodeError):
            return None
        return token if len(token) >= 32 else None

    token = read()
    if token is not None:
        return token
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        token = read()
        if token is None:
            token = secrets.token_hex(24)
            atomic_write(path, token.encode(), mode=0o600)
    return token


def selftest_token(data_dir: Path) -> str:
    """The secret that lets `schoolgate selftest` ask the running proxy to decide as
    a given group (created on first use, readable only by the schoolgate user)."""
    return shared_secret(data_dir, SELFTEST_TOKEN_FILE)
