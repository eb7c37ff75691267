"""A real department server (`schoolgate department serve`) in a subprocess,
over HTTPS with a self-signed certificate, that tests can stop and restart."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.helpers.trees import ROOT, SHIPPED_BLOCKLISTS
from tests.helpers.upstream import free_port, make_cert


class DepartmentServer:
    def __init__(self, base: Path, store: str = "", **settings: object):
        self.base = base
        self.data = base / "dept"
        self.port = free_port()
        self.cert, self.key = make_cert(base, "department", dns=("localhost",), ips=("127.0.0.1",))
        self.settings = {"data_dir": self.data, "department_port": self.port, "department_tls_cert": self.cert,
                         "department_tls_key": self.key, "blocklists_dir": SHIPPED_BLOCKLISTS,
                         **({"department_db": store} if store else {}), **settings}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = base / "department.log"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def args(self) -> list[str]:
        out: list[str] = []
        for k, v in self.settings.items():
            out += ["--set", f"schoolgate_{k}={v}"]
        return out

    def command(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """Run `schoolgate department ARGV` with this server's settings."""
        return subprocess.run([sys.executable, "-m", "dashboard.department", *argv, *self.args()], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))

    def start(self, timeout: float = 30.0) -> DepartmentServer:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "dashboard.department", "serve", *self.args()],
                                         cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                         env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the department server exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/health", timeout=2, context=self.ssl_context()) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        raise RuntimeError(f"the department server did not answer in {timeout} s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def __enter__(self) -> DepartmentServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
