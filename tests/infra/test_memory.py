"""The allocator settings for long-running processes (addons/infra/memory.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from addons.infra import memory


def test_tune_and_trim_on_glibc() -> None:
    if not memory.has_glibc():
        pytest.skip("not glibc")
    assert memory.tune() is True
    assert isinstance(memory.trim(), bool)


def test_trim_gives_back_bodies_freed_in_a_fragmented_heap() -> None:
    """Many 200 KB bodies alive at once, small allocations in between that outlive
    them: once the bodies are freed, the heap keeps their pages until trim()."""
    if not memory.has_glibc():
        pytest.skip("not glibc")
    script = textwrap.dedent("""
        from addons.infra import memory
        memory.tune()
        def rss():
            return int(open("/proc/self/statm").read().split()[1]) * 4096
        base = rss()
        keep = []
        for _ in range(3):
            bodies = []
            for i in range(400):  # 80 MB of bodies in flight at once
                bodies.append(bytes(200_000) + bytes([i % 256]))
                keep.append(bytes(1000) + bytes([i % 256]))  # a small allocation that outlives them
            del bodies
        kept = (rss() - base) // 2**20
        memory.trim()
        print(kept, (rss() - base) // 2**20)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         cwd=str(Path(memory.__file__).parents[2]))
    kept, after_trim = map(int, out.stdout.split())
    assert kept > 20, (kept, after_trim)  # the allocator's high-water mark, without trim
    assert after_trim < 10, (kept, after_trim)


def test_tuned_initializer_calls_the_pool_initializer() -> None:
    seen = []
    memory.tuned_initializer(seen.append, "phrases")
    assert seen == ["phrases"]
