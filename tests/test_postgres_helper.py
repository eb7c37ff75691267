"""The throw-away PostgreSQL server helper (tests/helpers/postgres.py) against a
real server: it starts, serves SQL over TCP, creates databases, and leaves no
process, port or directory behind. No skips: without PostgreSQL these fail
with the hint to run tests/system-deps.sh."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import psycopg
import pytest

from tests.helpers.postgres import PostgresServer, find_bin, postgres_available


def require_postgres() -> None:
    """Fail (not skip, not error) with the one-line hint when PostgreSQL is missing."""
    reason = postgres_available()
    if reason is not None:
        pytest.fail(reason, pytrace=False)


def _port_accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_find_bin() -> None:
    require_postgres()
    initdb = find_bin("initdb")
    assert initdb is not None and Path(initdb).name == "initdb"
    pg_ctl = find_bin("pg_ctl")
    assert pg_ctl is not None and Path(pg_ctl).parent == Path(initdb).parent  # one version
    assert find_bin("no-such-postgres-binary") is None


def test_server_serves_sql_and_cleans_up() -> None:
    require_postgres()
    with PostgresServer() as pg:
        port, pid, directory = pg.port, pg.pid, pg.directory
        assert directory is not None and directory.is_dir()
        assert pg.dsn == f"postgresql://postgres@127.0.0.1:{port}/postgres"

        with psycopg.connect(pg.dsn) as conn:
            # The fast, loopback-only test settings are in effect.
            for name, expected in [("fsync", "off"), ("synchronous_commit", "off"),
                                   ("full_page_writes", "off"), ("listen_addresses", "127.0.0.1"),
                                   ("server_encoding", "UTF8"),
                                   ("unix_socket_directories", str(directory))]:
                row = conn.execute(f"SHOW {name}").fetchone()
                assert row == (expected,), name

            conn.execute("CREATE TABLE incidents (id serial PRIMARY KEY, host text NOT NULL)")
            conn.cursor().executemany("INSERT INTO incidents (host) VALUES (%s)",
                                      [("bad.example",), ("ünïcode.test",)])
            conn.commit()
            rows = conn.execute("SELECT id, host FROM incidents ORDER BY id").fetchall()
            assert rows == [(1, "bad.example"), (2, "ünïcode.test")]

        # A second database: its own DSN, and none of the first one's tables.
        reports_dsn = pg.create_database("reports")
        assert reports_dsn == f"postgresql://postgres@127.0.0.1:{port}/reports"
        with psycopg.connect(reports_dsn) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("reports",)
            assert conn.execute("SELECT to_regclass('incidents')").fetchone() == (None,)

        # The unix socket in the temporary directory works too.
        with psycopg.connect(host=str(pg.socket_dir), port=port, user="postgres",
                             dbname="postgres") as conn:
            assert conn.execute("SELECT count(*) FROM incidents").fetchone() == (2,)

    assert not _port_accepts(port), "the server still accepts connections after the block"
    assert not _process_exists(pid), "the postmaster is still running after the block"
    assert not directory.exists(), "the temporary directory was not removed"
    with pytest.raises(RuntimeError, match="not running"):
        _ = pg.dsn


def test_cleanup_when_the_test_body_fails() -> None:
    require_postgres()
    with pytest.raises(ZeroDivisionError):
        with PostgresServer() as pg:
            port, pid, directory = pg.port, pg.pid, pg.directory
            assert directory is not None
            1 / 0
    assert not _port_accepts(port)
    assert not _process_exists(pid)
    assert not directory.exists()


def test_start_failure_reports_the_server_log_and_cleans_up() -> None:
    require_postgres()
    pg = PostgresServer(settings={"shared_buffers": "not-a-size"})
    with pytest.raises(RuntimeError, match="(?s)exited with .*shared_buffers"):
        pg.start()
    assert pg.directory is None  # nothing left behind
