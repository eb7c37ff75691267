"""Forking the follower workers from the leader at start-up.

`schoolgate run --workers N` forks the other N-1 workers right after start-up
imports, before any thread or event loop exists (forking a process with threads
is unsafe). A forked worker shares the imported code and data of mitmproxy, the
cryptography library and schoolgate with the leader as copy-on-write pages,
instead of importing them again into a fresh interpreter: that is about half of
an idle worker's memory. `gc.freeze()` first keeps the collector from touching
(and so copying) those shared objects.

A worker that dies later is started again as a new process (subprocess): by
then the leader has threads and must not fork.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable


class ForkedProcess:
    """A forked worker: the parts of subprocess.Popen the supervisor uses."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: it has ended
                self.returncode = -1
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"process {self.pid} still running after {timeout} s")
            time.sleep(0.02)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def can_fork() -> bool:
    return sys.platform.startswith("linux") and threading.active_count() == 1


def fork_worker(run_worker: Callable[[], int], env: dict[str, str]) -> ForkedProcess | None:
    """A worker forked now, running `run_worker()` with `env` added to its environment;
    its result is the worker's exit status. None where forking is not safe."""
    if not can_fork():
        return None
    sys.stdout.flush()
    sys.stderr.flush()
    gc.collect()
    gc.freeze()
    pid = os.fork()
    if pid:
        return ForkedProcess(pid)
    code = 1  # the worker: never returns into the leader's code
    try:
        os.environ.update(env)  # the frozen objects stay frozen: collecting them would copy their pages
        code = run_worker()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
