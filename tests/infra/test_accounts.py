from pathlib import Path

import pytest

from addons.infra import accounts


def test_users_passwords_sessions(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    u = accounts.add_user(db, "co-lan", "a long secret", "teacher", ["grade-7"], safeguarding=True)
    assert u.may_see("grade-7") and not u.may_see("grade-3")
    assert accounts.authenticate(db, "co-lan", "wrong password") is None
    assert accounts.authenticate(db, "nobody", "a long secret") is None
    assert accounts.authenticate(db, "co-lan", "a long secret") == u
    token = accounts.new_session(db, u)
    assert accounts.session_user(db, token) == u and accounts.session_user(db, "forged") is None
    accounts.set_password(db, "co-lan", "another long secret")
    assert accounts.session_user(db, token) is None  # a new password signs out every session
    with pytest.raises(accounts.AccountError, match="exists already"):
        accounts.add_user(db, "co-lan", "a long secret", "teacher")
    with pytest.raises(accounts.AccountError, match="at least 10"):
        accounts.add_user(db, "thay-nam", "short", "teacher")
    with pytest.raises(accounts.AccountError, match="role must be"):
        accounts.add_user(db, "thay-nam", "a long secret", "principal")
    accounts.disable_user(db, "co-lan")
    assert accounts.authenticate(db, "co-lan", "another long secret") is None and accounts.count_users(db) == 0


def test_hashes_are_argon2(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "s.db"
    accounts.add_user(db, "admin", "a long secret", "admin")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT password_hash FROM users").fetchone()[0].startswith("$argon2id$")
