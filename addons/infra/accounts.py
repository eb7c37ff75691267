"""Dashboard accounts: users with roles, passwords hashed with Argon2id (memory-hard),
server-side sessions. Shared by `schoolgate user` and the dashboard."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .store import migrate

ROLES = ("admin", "teacher", "department", "parent")  # parent: a home gateway's family pages
SESSION_SECONDS = 8 * 3600
_NAME = re.compile(r"^[a-zA-Z0-9._-]{2,40}$")
_hasher = PasswordHasher()  # Argon2id, library defaults (64 MiB, 3 passes)


class AccountError(ValueError):
    pass


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    groups: tuple[str, ...]  # the groups a teacher may edit and see
    safeguarding: bool  # designated to see safeguarding alerts (teachers)
    language: str
    disabled: bool = False

    def may_see(self, group: str) -> bool:
        return self.role == "admin" or (self.role == "teacher" and group in self.groups)


@contextmanager
def connect(db: Path) -> Iterator[sqlite3.Connection]:
    migrate(db)
    conn = sqlite3.connect(db, timeout=10)
    conn.execute("PRAGMA foreign_keys=ON")
    try:
        with conn:
            yield conn
    finally:
        conn.close()


def _user(row: tuple) -> User:  # type: ignore[type-arg]
    return User(int(row[0]), row[1], row[2], tuple(json.loads(row[3])), bool(row[4]), row[5], bool(row[6]))


_COLUMNS = "id, name, role, groups, safeguarding, language, disabled"


def check_password(password: str) -> None:
    if len(password) < 10:
        raise AccountError("the password needs at least 10 characters")


def add_user(db: Path, name: str, password: str, role: str, groups: list[str] | None = None,
             safeguarding: bool = False, language: str = "vi") -> User:
    if not _NAME.match(name):
        raise AccountError("a user name has 2-40 letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    check_password(password)
    with connect(db) as conn:
        try:
            cur = conn.execute(
                "INSERT INTO users (name, password_hash, role, groups, safeguarding, language, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (name, _hasher.hash(password), role, json.dumps(sorted(set(groups or []))), int(safeguarding),
                 language, int(time.time())))
        except sqlite3.IntegrityError:
            raise AccountError(f"a user named '{name}' exists already") from None
        return User(int(cur.lastrowid or 0), name, role, tuple(sorted(set(groups or []))), safeguarding, language)


def users(db: Path) -> list[User]:
    with connect(db) as conn:
        return [_user(r) for r in conn.execute(f"SELECT {_COLUMNS} FROM users ORDER BY name")]


def count_users(db: Path) -> int:
    with connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM users WHERE disabled = 0").fetchone()[0])


def set_password(db: Path, name: str, password: str) -> None:
    check_password(password)
    with connect(db) as conn:
        if conn.execute("UPDATE users SET password_hash = ? WHERE name = ?", (_hasher.hash(password), name)).rowcount == 0:
            raise AccountError(f"no user named '{name}'")
        conn.execute("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?)", (name,))


def disable_user(db: Path, name: str) -> None:
    with connect(db) as conn:
        if conn.execute("UPDATE users SET disabled = 1 WHERE name = ?", (name,)).rowcount == 0:
            raise AccountError(f"no user named '{name}'")
        conn.execute("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?)", (name,))


def authenticate(db: Path, name: str, password: str) -> User | None:
    with connect(db) as conn:
        row = conn.execute(f"SELECT {_COLUMNS}, password_hash FROM users WHERE name = ?", (name,)).fetchone()
    if row is None:
        _hasher.hash(password)  # the same work whether or not the user exists
        return None
    try:
        _hasher.verify(row[7], password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    user = _user(row[:7])
    return None if user.disabled else user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_session(db: Path, user: User) -> str:
    token = secrets.token_urlsafe(32)
    now = int(time.time())
    with connect(db) as conn:
        conn.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)", (_token_hash(token), user.id, now, now + SESSION_SECONDS))
    return token


def session_user(db: Path, token: str) -> User | None:
    if not token:
        return None
    with connect(db) as conn:
        row = conn.execute(
            f"SELECT {', '.join('u.' + c for c in _COLUMNS.split(', '))} FROM sessions s JOIN users u "
            "ON u.id = s.user_id WHERE s.token_hash = ? AND s.expires > ?",
            (_token_hash(token), int(time.time()))).fetchone()
    if row is None:
        return None
    user = _user(row)
    return None if user.disabled else user


def end_session(db: Path, token: str) -> None:
    with connect(db) as conn:
        conn.execute("DELETE FROM sessions WHERE token_hash = ?", (_token_hash(token),))
