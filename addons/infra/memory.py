"""Memory: give freed memory back to the system, so a proxy that runs for weeks
stays the size it had after its first hour.

A proxy worker allocates and frees page bodies (tens to hundreds of KB) all the
time. When many requests are in flight at once (a burst, a slow upstream), the
heap grows to hold them all; afterwards it is fragmented by the small objects
allocated in between, so glibc cannot give the freed space back from the top,
and the process keeps its high-water mark. Three things prevent that (Linux with
glibc only; elsewhere nothing changes):

- a fixed mmap threshold of 256 KiB: glibc's default threshold ratchets up to
  the size of the largest block freed so far (up to 32 MiB), after which even
  multi-megabyte temporaries (a policy reload, a list file) come from the heap
  and leave it fragmented; fixed, they are mappings of their own, unmapped when
  freed. 256 KiB keeps page bodies up to that size in the heap, where they are
  reused without page faults;
- at most two allocator arenas per process, instead of eight per core: the
  threads of the DNS resolver, the store and the image-hashing pool each get their own
  arena otherwise, each keeping its own high-water mark;
- `malloc_trim(0)` once a minute in each worker (addons/memory.py), which
  returns whole free pages from inside the heap, not only from its top.

Measured (docs/performance.md, "Soak"): with all three and a threshold of
128 KiB, every worker stayed flat for 30 minutes (+2.3% in all, against +14.5%
before), but 128 KiB cost 15-20% of the throughput on 200 KB pages (a fresh
mapping, and its page faults, for every copy of every body). With 256 KiB that
cost is gone. In two of the runs since, one worker stepped up by 20 MB once,
which is not yet explained; the three runs on the current code did not show it.

`tune()` runs once at process start, before the leader forks its followers (who
inherit the settings), and in the phrase-scanning and image-hashing processes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from typing import Any

# mallopt() parameters, from glibc's malloc.h
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

MMAP_THRESHOLD = 256 * 1024
ARENA_MAX = 2

_libc: Any = None


def _glibc() -> Any:
    """glibc, or None on another C library or system."""
    global _libc
    if _libc is None:
        _libc = False
        if sys.platform.startswith("linux"):
            try:
                lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                lib.gnu_get_libc_version.restype = ctypes.c_char_p
                lib.gnu_get_libc_version()
                lib.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
                lib.malloc_trim.argtypes = [ctypes.c_size_t]
                _libc = lib
            except (OSError, AttributeError):
                pass  # musl and others: no mallopt knobs, nothing to tune
    return _libc or None


def tune() -> bool:
    """Set the allocator's mmap threshold and arenas for this process (and the
    children it forks). True if they were set."""
    lib = _glibc()
    return lib is not None and all(lib.mallopt(param, value) == 1 for param, value in (
        (M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_ARENA_MAX, ARENA_MAX)))


def trim() -> bool:
    """Return free heap pages to the system. True if any memory was released."""
    lib = _glibc()
    return bool(lib is not None and lib.malloc_trim(0))


def tuned_initializer(initializer: Any, *args: Any) -> None:
    """Initializer of a process pool: tune the allocator, then the pool's own one."""
    tune()
    initializer(*args)


def has_glibc() -> bool:
    return _glibc() is not None
