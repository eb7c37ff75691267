"""The time the home gateway's limits are decided with.

Normally the system clock. For tests only: when the environment variable
SCHOOLGATE_TEST_CLOCK names a file, the time is read from it (unix seconds, as
text), so an end-to-end test can move a running proxy's time across windows and
budgets without sleeping. Never set it on a real gateway.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

ENV = "SCHOOLGATE_TEST_CLOCK"


class Clock:
    def __init__(self, path: str | None = None):
        self.path = Path(path) if path else None
        self._cached: tuple[int, float] | None = None

    def __call__(self) -> float:
        if self.path is None:
            return time.time()
        try:
            mtime = self.path.stat().st_mtime_ns
            if self._cached is None or self._cached[0] != mtime:
                self._cached = (mtime, float(self.path.read_text("utf-8").strip()))
            return self._cached[1]
        except (OSError, ValueError):
            return self._cached[1] if self._cached else time.time()


def from_env() -> Clock:
    return Clock(os.environ.get(ENV) or None)
