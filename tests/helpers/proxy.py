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


def group_members(pgid: int) -> list[int]:
    """Live processes (not zombies) in a process group."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


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
        self.leftover: list[int] = []  # processes of its group still running after it stopped

    def start(self, timeout: float = 30.0) -> ProxyProcess:
        self.proc = subprocess.Popen(
            self.command + self.args,
            cwd=self.cwd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, encoding="utf-8", errors="replace", start_new_session=True,
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
        deadline = time.monotonic() + 5
        while (left := group_members(self.proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)  # workers and the dashboard stop with it
        self.leftover = left
        try:  # anything it left behind (its own group): a stuck child must not hang the tests
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._reader.join(5)
        if self.proc.stdout:
            self.proc.stdout.close()
        return self.proc.returncode


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`schoolgate ARGS`; after `timeout` its whole process group is killed (a proxy's
    workers and dashboard too), so a stuck command fails the test instead of hanging it."""
    cmd = SCHOOLGATE + list(args)
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=10)
        raise subprocess.TimeoutExpired(cmd, timeout, out, err) from None
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


class DashboardProcess(ProxyProcess):
    """`python -m dashboard` as a subprocess, ready when it prints its address."""

    command = [sys.executable, "-m", "dashboard"]
    ready = re.compile(r"schoolgate dashboard at http://([\d.]+):(\d+)/")
