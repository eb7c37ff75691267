"""Memory: give freed memory back to the system, so a proxy that runs for weeks
stays the size it had after its first hour.

A proxy worker allocates and frees a page body (tens to hundreds of KB) per
request. glibc's allocator raises its mmap threshold after the first such body
is freed, so later bodies come from the heap; when many requests are in flight
at once (a burst, a slow upstream) the heap grows to hold them all and, being
fragmented, never shrinks again. Two settings of the allocator and one periodic
call keep that from happening (Linux with glibc only; elsewhere nothing changes):

- a fixed mmap threshold of 128 KiB: every large body is its own mapping and is
  unmapped when freed (the default, dynamic threshold is what lets bodies pile
  up in the heap);
- at most two arenas per process, instead of eight per core: the threads of the
  DNS resolver and the store each get their own arena otherwise, each keeping its
  own high-water mark;
- `malloc_trim(0)` once a minute in each worker, which returns whole free pages
  from inside the heap (not only from its top).

`tune()` runs once at process start, before the leader forks its followers (who
inherit the settings), and in the phrase-scanning and image-hashing processes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from typing import Any

# mallopt() parameters, from glibc's malloc.h
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

MMAP_THRESHOLD = 128 * 1024
TRIM_THRESHOLD = 256 * 1024
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
    """Set the allocator's thresholds for this process (and children it forks).
    True if they were set."""
    lib = _glibc()
    if lib is None:
        return False
    return all(lib.mallopt(param, value) == 1 for param, value in (
        (M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD), (M_ARENA_MAX, ARENA_MAX)))


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
