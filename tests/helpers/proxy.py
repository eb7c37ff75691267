"""Start the real `schoolgate run` as a subprocess on a free port and wait for it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

SCHOOLGATE = [sys.executable, "-m", "addons.cli"]
READY = re.compile(r"schoolgate proxy listening at http://([\d.]+):(\d+)")


class ProxyProcess:
    command = SCHOOLGATE + ["run"]
    ready = READY

    def __init__(self, args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None):
        self.args = args
        self.cwd = cwd
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.lines: list[str] = []
        self.port = 0
        self.proc: subprocess.Popen[str] | None = None
        self._ready = threading.Event()

    def start(self, timeout: float = 30.0) -> ProxyProcess:
        self.proc = subprocess.Popen(
            self.command + self.args,
            cwd=self.cwd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, encoding="utf-8", errors="replace",
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._ready.wait(0.05):
                return self
            if self.proc.poll() is not None:
                time.sleep(0.2)
                pytest.fail(f"schoolgate exited with {self.proc.returncode}:\n{self.log}")
        self.stop()
        pytest.fail(f"schoolgate did not start within {timeout}s:\n{self.log}")

    def _read(self) -> None:
        assert self.proc and self.proc.stdout
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            m = self.ready.search(line)
            if m and not self._ready.is_set():
                self.port = int(m.group(2))
                self._ready.set()

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_for_log(self, text: str, timeout: float = 10.0, start: int = 0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines[start:]:
                if text in line:
                    return line
            time.sleep(0.05)
        raise AssertionError(f"'{text}' not logged within {timeout}s:\n{self.log}")

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._reader.join(5)
        if self.proc.stdout:
            self.proc.stdout.close()
        return self.proc.returncode


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(SCHOOLGATE + list(args), cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONUNBUFFERED": "1"})


class DashboardProcess(ProxyProcess):
    """`python -m dashboard` as a subprocess, ready when it prints its address."""

    command = [sys.executable, "-m", "dashboard"]
    ready = re.compile(r"schoolgate dashboard at http://([\d.]+):(\d+)/")
