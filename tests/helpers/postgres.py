"""A real, throw-away PostgreSQL server for tests.

`PostgresServer` runs `initdb` into a fresh temporary directory and starts the
server from Debian's /usr/lib/postgresql/<version>/bin (or PATH), listening on
127.0.0.1 only, on a free port, with its unix socket inside the temporary
directory and durability switched off for speed. Leaving the `with` block
stops the server (an immediate shutdown: the data is thrown away anyway) and
removes the directory, also when the test failed.

    with PostgresServer() as pg:
        with psycopg.connect(pg.dsn) as conn: ...
        other_dsn = pg.create_database("reports")

PostgreSQL refuses to run as root. When the tests run as root the server
binaries run as the `postgres` OS user (created by Debian's postgresql
package) and the temporary directory is handed to that user.

The postmaster is started directly (not through `pg_ctl start`) so that it is
our own child process: we know its pid, capture its log and can always stop
it. Readiness is read from postmaster.pid, the same way `pg_ctl -w` does it.
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

__all__ = ["PostgresServer", "find_bin", "postgres_available"]

#: Where Debian (and Ubuntu) install the server binaries, one directory per major version.
DEBIAN_LIB = Path("/usr/lib/postgresql")
#: The OS user the server runs as when the tests run as root.
OS_USER = "postgres"
#: The one-line hint given when the server binaries are missing.
MISSING_HINT = ("PostgreSQL server binaries missing: "
                "run tests/system-deps.sh as root (Debian package postgresql)")

#: Settings for a disposable test server: no durability, loopback only.
FAST_SETTINGS: dict[str, str] = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "logging_collector": "off",  # the log goes to stderr, which we capture in server.log
}

#: Loopback-only client authentication: trust the unix socket and 127.0.0.1, nothing else.
PG_HBA = """\
# schoolgate test server: trust on loopback only
local   all          all                  trust
host    all          all   127.0.0.1/32   trust
local   replication  all                  trust
host    replication  all   127.0.0.1/32   trust
"""

START_TIMEOUT = 30.0  # seconds until the server must accept connections
INITDB_TIMEOUT = 60.0  # seconds for initdb
STOP_TIMEOUT = 10.0  # seconds for an immediate shutdown before SIGKILL
PORT_ATTEMPTS = 3  # a free port can be taken by someone else before the server binds it
SOCKET_PATH_MAX = 107  # sun_path is 108 bytes including the NUL


def _version_key(path: Path) -> tuple[int, ...]:
    """Sort key for /usr/lib/postgresql/<version>: "9.6" < "15" < "16"."""
    return tuple(int(part) for part in re.findall(r"\d+", path.name)) or (-1,)


def find_bin(name: str) -> str | None:
    """Path of a PostgreSQL server binary (`initdb`, `pg_ctl`, `postgres`, ...).

    Debian keeps them out of PATH, in /usr/lib/postgresql/<version>/bin; the
    newest version wins. Falls back to PATH (other distributions, source
    builds). None when the binary is nowhere to be found.
    """
    if DEBIAN_LIB.is_dir():
        for version_dir in sorted(DEBIAN_LIB.iterdir(), key=_version_key, reverse=True):
            candidate = version_dir / "bin" / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    return shutil.which(name)


def _sibling_bin(reference: str, name: str) -> str | None:
    """`name` from the same directory as `reference`, so initdb and postgres are one version."""
    candidate = Path(reference).parent / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    return find_bin(name)


def postgres_available() -> str | None:
    """None when a test server can be started here, else a one-line reason."""
    initdb = find_bin("initdb")
    if initdb is None or _sibling_bin(initdb, "postgres") is None:
        return MISSING_HINT
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(OS_USER)
        except KeyError:
            return (f"OS user {OS_USER!r} missing (PostgreSQL will not run as root): "
                    "run tests/system-deps.sh as root (Debian package postgresql)")
    return None


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the server binds it moments later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Servers still running, stopped at interpreter exit in case a caller forgot
# (or could not) leave the `with` block. The normal path never needs this.
_live: set[PostgresServer] = set()


@atexit.register
def _stop_leftovers() -> None:
    for server in list(_live):
        try:
            server.stop()
        except Exception:  # keep stopping the others; nothing useful to report at exit
            pass


class PostgresServer:
    """A PostgreSQL server in a temporary directory, for the duration of a `with` block.

    Attributes, valid inside the block:
      dsn        postgresql://postgres@127.0.0.1:PORT/postgres
      host, port 127.0.0.1 and the TCP port
      user       the database superuser, "postgres"
      directory  the temporary directory (data/, server.log and the unix socket)
      socket_dir where the unix socket lives (= directory)
      data_dir   the cluster's data directory
      log_path   the server's log file; `log()` returns its text
      pid        the postmaster's pid

    `settings` adds or overrides postgresql.conf settings (`-c name=value`).
    `base_dir` is where the temporary directory is created (default: the
    system temp dir); when running as root the `postgres` user must be able to
    traverse it, and the socket path must stay under 108 bytes.
    """

    user = "postgres"
    host = "127.0.0.1"

    def __init__(self, *, settings: Mapping[str, str] | None = None,
                 base_dir: str | os.PathLike[str] | None = None,
                 start_timeout: float = START_TIMEOUT) -> None:
        self.settings = {**FAST_SETTINGS, **(settings or {})}
        self.base_dir = base_dir
        self.start_timeout = start_timeout
        self.port = 0
        self.directory: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        # When root: (uid, gid, supplementary groups) of the postgres OS user.
        self._run_as: tuple[int, int, list[int]] | None = None

    # -- public API -------------------------------------------------------

    @property
    def dsn(self) -> str:
        return self.dsn_for("postgres")

    def dsn_for(self, dbname: str) -> str:
        """Connection string for another database on this server."""
        self._require_running()
        return f"postgresql://{self.user}@{self.host}:{self.port}/{quote(dbname, safe='')}"

    @property
    def socket_dir(self) -> Path:
        self._require_running()
        assert self.directory is not None
        return self.directory

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory (PGDATA)."""
        if self.directory is None:
            raise RuntimeError("the PostgreSQL test server has no directory (not started)")
        return self.directory / "data"

    @property
    def log_path(self) -> Path:
        if self.directory is None:
            raise RuntimeError("the PostgreSQL test server has no directory (not started)")
        return self.directory / "server.log"

    @property
    def pid(self) -> int:
        self._require_running()
        assert self._proc is not None
        return self._proc.pid

    def log(self) -> str:
        """The server's log so far ('' when there is none)."""
        try:
            return self.log_path.read_text(errors="replace")
        except (OSError, RuntimeError):
            return ""

    def create_database(self, name: str) -> str:
        """CREATE DATABASE `name` (quoted as an identifier) and return its DSN."""
        import psycopg  # the project's driver; imported here so the module loads without it
        from psycopg import sql

        with psycopg.connect(self.dsn, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.dsn_for(name)

    def start(self) -> PostgresServer:
        """initdb + start; on any failure everything started so far is cleaned up."""
        if self.directory is not None:
            raise RuntimeError("this PostgresServer was already started")
        reason = postgres_available()
        if reason is not None:
            raise RuntimeError(reason)
        try:
            self._prepare_directory()
            self._initdb()
            self._start_server()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (immediate shutdown) and remove the directory. Idempotent."""
        _live.discard(self)
        proc, self._proc = self._proc, None
        try:
            if proc is not None:
                _terminate(proc)
        finally:
            directory, self.directory = self.directory, None
            if directory is not None:
                shutil.rmtree(directory, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"port={self.port}" if self._proc is not None else "stopped"
        return f"<PostgresServer {state}>"

    # -- internals ----------------------------------------------------------

    def _require_running(self) -> None:
        if self._proc is None or self.directory is None:
            raise RuntimeError("the PostgreSQL test server is not running (use it inside `with`)")

    def _prepare_directory(self) -> None:
        """The temporary directory, owned by whoever runs the server binaries."""
        self.directory = Path(tempfile.mkdtemp(prefix="schoolgate-pg-", dir=self.base_dir))
        _live.add(self)  # from now on there is something to clean up at exit
        if os.geteuid() == 0:
            entry = pwd.getpwnam(OS_USER)
            groups = os.getgrouplist(entry.pw_name, entry.pw_gid)
            self._run_as = (entry.pw_uid, entry.pw_gid, groups)
            os.chown(self.directory, entry.pw_uid, entry.pw_gid)
        socket_path = self.directory / ".s.PGSQL.65535"
        if len(str(socket_path)) > SOCKET_PATH_MAX:
            raise RuntimeError(f"unix socket path too long for PostgreSQL: {socket_path} "
                               "(use a shorter base_dir)")

    def _run_kwargs(self) -> dict[str, Any]:
        """subprocess arguments shared by initdb and postgres: user, cwd, environment."""
        assert self.directory is not None
        # Drop PG* variables (PGDATA, PGPORT, ...) so the caller's environment cannot leak in;
        # LC_ALL=C keeps messages untranslated for the error reports.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        # cwd inside the temp dir: the postgres user cannot read root's working directory.
        kwargs: dict[str, Any] = {"cwd": self.directory, "env": env}
        if self._run_as is not None:
            uid, gid, groups = self._run_as
            env["HOME"] = str(self.directory)
            env["USER"] = env["LOGNAME"] = OS_USER
            # setgid/setgroups/setuid in the child before exec, without preexec_fn
            # (which is unsafe in a process with threads, as the test run has).
            kwargs.update(user=uid, group=gid, extra_groups=groups)
        return kwargs

    def _initdb(self) -> None:
        initdb = find_bin("initdb")
        assert initdb is not None and self.directory is not None
        cmd = [initdb, "-D", str(self.data_dir), "-U", self.user, "-E", "UTF8",
               "--locale=C", "--auth=trust", "--no-sync"]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=INITDB_TIMEOUT,
                                 **self._run_kwargs())
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"initdb did not finish within {INITDB_TIMEOUT:.0f}s") from exc
        if out.returncode != 0:
            raise RuntimeError(f"initdb failed (exit {out.returncode}):\n{out.stdout}{out.stderr}")
        # Replace the generated pg_hba.conf: trust on the unix socket and 127.0.0.1 only.
        hba = self.data_dir / "pg_hba.conf"
        hba.write_text(PG_HBA)
        if self._run_as is not None:
            os.chown(hba, self._run_as[0], self._run_as[1])

    def _start_server(self) -> None:
        """Start the postmaster on a free port; retry when another process took the port."""
        for attempt in range(1, PORT_ATTEMPTS + 1):
            self.port = _free_port()
            if self._spawn_and_wait(last_attempt=attempt == PORT_ATTEMPTS):
                return

    def _spawn_and_wait(self, *, last_attempt: bool) -> bool:
        """True when the server is ready; False when it lost a race for the port."""
        postgres = _sibling_bin(find_bin("initdb") or "", "postgres")
        assert postgres is not None and self.directory is not None
        settings = {**self.settings, "port": str(self.port),
                    "unix_socket_directories": str(self.directory)}
        cmd = [postgres, "-D", str(self.data_dir)]
        for name, value in settings.items():
            cmd += ["-c", f"{name}={value}"]
        with self.log_path.open("ab") as log:
            # The log file is opened by us and inherited, so its ownership does not matter.
            # A new session keeps a Ctrl-C in the terminal from reaching the server first.
            self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                          start_new_session=True,
                                          **self._run_kwargs())
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:  # the server gave up
                code, log_text = self._proc.returncode, self.log()
                self._proc = None
                if not last_attempt and "could not bind" in log_text:
                    return False  # the free port was taken in the meantime: try another one
                raise RuntimeError(f"PostgreSQL exited with {code} during start-up; "
                                   f"server log:\n{log_text}")
            if self._ready():
                return True
            time.sleep(0.02)
        raise RuntimeError(f"PostgreSQL did not accept connections within "
                           f"{self.start_timeout:.0f}s; server log:\n{self.log()}")

    def _ready(self) -> bool:
        """The postmaster writes "ready" as the 8th line of postmaster.pid once it accepts
        connections (what `pg_ctl -w` waits for); then the TCP port must answer too."""
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        if len(lines) < 8 or lines[7].strip() != "ready" or lines[0].strip() != str(self.pid):
            return False
        try:
            with socket.create_connection((self.host, self.port), timeout=1):
                return True
        except OSError:
            return False


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    """Immediate shutdown (SIGQUIT, like `pg_ctl stop -m immediate`), SIGKILL as a last resort.

    The backends notice the postmaster's death on their own; and should anything
    survive, a postmaster exits by itself within a minute of its data directory
    (postmaster.pid) disappearing.
    """
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGQUIT)
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)
        except ProcessLookupError:
            pass
    proc.wait(timeout=STOP_TIMEOUT)  # reap it (no zombie, no ResourceWarning)
