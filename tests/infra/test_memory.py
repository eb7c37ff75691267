"""The allocator settings for long-running processes (addons/infra/memory.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from addons.infra import memory


def test_tune_and_trim_on_glibc() -> None:
    if memory._glibc() is None:
        pytest.skip("not glibc")
    assert memory.tune() is True
    assert isinstance(memory.trim(), bool)


def test_large_bodies_go_back_to_the_system_after_tune() -> None:
    """With the fixed mmap threshold, freeing many 200 KB bodies that were alive at
    once returns their memory; a process that did not tune keeps more of it."""
    script = textwrap.dedent("""
        import sys
        from addons.infra import memory
        if sys.argv[1] == "tuned":
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
        print((rss() - base) // 1024 // 1024)
    """)
    if memory._glibc() is None:
        pytest.skip("not glibc")
    grown = {}
    for mode in ("tuned", "default"):
        out = subprocess.run([sys.executable, "-c", script, mode], capture_output=True, text=True, check=True,
                             cwd=str(__import__("pathlib").Path(memory.__file__).parents[2]))
        grown[mode] = int(out.stdout.strip())
    assert grown["tuned"] < 10, grown
    assert grown["tuned"] <= grown["default"], grown


def test_tuned_initializer_calls_the_pool_initializer() -> None:
    seen = []
    memory.tuned_initializer(seen.append, "phrases")
    assert seen == ["phrases"]
