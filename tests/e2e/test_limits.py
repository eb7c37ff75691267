"""Nothing knocks the filter over: bombs and floods against one proxy worker.

Each test sends one attack through the real proxy (one worker, its scan process)
and checks, from outside, that the proxy's peak memory (VmHWM in /proc) stays
under a bound far below what the attack would cost if it were buffered or
decoded whole, and that another child's request is still answered meanwhile.
The figures (latency under attack, peak memory) are measured by bench/limits.py;
these tests only hold the line.
"""

from __future__ import annotations

import gzip
import os
import threading
import time
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from addons.core.settings import Settings
from tests.conftest import proxy_args
from tests.helpers.proxy import ProxyProcess
from tests.helpers.tricks import plain
from tests.helpers.upstream import Upstream

pytestmark = pytest.mark.e2e

STUDENT, OTHER = "127.0.0.7", "127.0.0.3"
BOUND_MB = 150  # the documented bound of what one attack may add to a worker (docs/gateway.md, "Limits")


def peak_mb(proxy: ProxyProcess) -> float:
    assert proxy.proc is not None
    for line in Path(f"/proc/{proxy.proc.pid}/status").read_text("ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def gzip_bomb(size: int) -> bytes:
    """`size` bytes of zeros, gzip-compressed in pieces (about 1/1000 of the size)."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    out = [c.compress(block) for _ in range(size >> 20)]
    return b"".join(out) + c.flush()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, upstream: Upstream) -> Iterator[ProxyProcess]:
    from tests.helpers.trees import make_tree

    base = tmp_path_factory.mktemp("limits")
    policies, blocklists = make_tree(base)
    settings = Settings(policies_dir=str(policies), blocklists_dir=str(blocklists), data_dir=str(base / "data"),
                        metrics_port=0, dashboard_port=0, incident_batch_seconds=0.1)
    proc = ProxyProcess(proxy_args(settings, upstream) + ["--set", "schoolgate_workers=1"]).start()
    yield proc
    proc.stop()


class Other:
    """Another child browsing while the attack runs: every answer and its time."""

    def __init__(self, proxy: ProxyProcess):
        self.proxy, self.times, self.failures = proxy, [], 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": self.proxy.url}))
        while not self._stop.is_set():
            start = time.monotonic()
            try:
                with opener.open("http://school.test/lesson", timeout=10) as r:
                    r.read()
                self.times.append(time.monotonic() - start)
            except OSError:
                self.failures += 1
            time.sleep(0.05)

    def __enter__(self) -> Other:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(15)


def test_a_decompression_bomb_page_is_not_inflated(proxy, upstream) -> None:  # type: ignore[no-untyped-def]
    bomb = gzip_bomb(800 << 20)  # 800 MB of zeros in about 800 KB
    upstream.serve("bomb.test/page", "text/html", bomb)
    before = peak_mb(proxy)
    with Other(proxy) as other:
        sock_answer = plain(proxy.port, STUDENT, "http://bomb.test/page", "bomb.test",
                            "Accept-Encoding: gzip\r\n")
        time.sleep(0.5)
    assert sock_answer.status in (200, 403)  # the page as sent (or blocked if its start scores)
    assert peak_mb(proxy) - before < BOUND_MB, (before, peak_mb(proxy))
    assert other.times and other.failures == 0


def test_a_gzip_post_bomb_is_checked_within_its_cap(proxy, upstream) -> None:  # type: ignore[no-untyped-def]
    bomb = gzip_bomb(2000 << 20)  # 2 GB of zeros in about 2 MB
    before = peak_mb(proxy)
    with Other(proxy) as other:
        req = urllib.request.Request("http://app.test/api", data=bomb, method="POST",
                                     headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy.url}))
        with opener.open(req, timeout=60) as r:
            r.read()
    assert peak_mb(proxy) - before < BOUND_MB
    assert other.times and other.failures == 0


def test_an_endless_chunked_download_is_streamed_not_buffered(proxy, upstream) -> None:  # type: ignore[no-untyped-def]
    sent = [0]

    def endless() -> tuple[dict[str, str], Iterator[bytes]]:
        def chunks() -> Iterator[bytes]:
            block = os.urandom(1 << 16)
            deadline = time.monotonic() + 30  # bounded: at most 30 s and 1 GB
            while sent[0] < (1 << 30) and time.monotonic() < deadline:
                sent[0] += len(block)
                yield block
        return {"Content-Type": "application/octet-stream"}, chunks()

    upstream.stream("endless.test/file.bin", endless)
    before = peak_mb(proxy)
    first_byte = None
    got = 0
    with Other(proxy) as other:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy.url}))
        start = time.monotonic()
        with opener.open("http://endless.test/file.bin", timeout=30) as r:
            while got < (300 << 20):
                data = r.read(1 << 20)
                if first_byte is None:
                    first_byte = time.monotonic() - start
                if not data:
                    break
                got += len(data)
    assert got >= 300 << 20  # 300 MB went through
    assert first_byte is not None and first_byte < 10  # streamed: the first bytes came long before the end
    assert peak_mb(proxy) - before < BOUND_MB
    assert other.times and other.failures == 0


def test_a_large_text_page_without_length_is_held_no_further_than_the_cap(proxy, upstream) -> None:  # type: ignore[no-untyped-def]
    def page() -> tuple[dict[str, str], Iterator[bytes]]:
        return {"Content-Type": "text/html"}, (b"<p>" + b"x" * 65536 for _ in range(3000))  # 200 MB

    upstream.stream("long.test/page", page)
    before = peak_mb(proxy)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy.url}))
    got = 0
    with opener.open("http://long.test/page", timeout=60) as r:
        while data := r.read(1 << 20):
            got += len(data)
    assert got > 190_000_000
    assert peak_mb(proxy) - before < BOUND_MB


def test_a_post_that_backtracks_a_regular_expression_does_not_freeze_anyone(proxy) -> None:  # type: ignore[no-untyped-def]
    """128 KB of hex in a JSON body (ordinary app traffic) once took 43 s of the event loop."""
    body = b'{"blob": "' + os.urandom(1 << 16).hex().encode() + b'"}'
    with Other(proxy) as other:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy.url}))
        start = time.monotonic()
        for _ in range(5):
            req = urllib.request.Request("http://app.test/sync", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
            with opener.open(req, timeout=30) as r:
                r.read()
        took = time.monotonic() - start
    assert took < 20  # five posts, each a few milliseconds of scanning (the old pattern: minutes)
    assert other.times and other.failures == 0 and max(other.times) < 5


def test_gzip_bombs_compress_as_expected() -> None:
    assert len(gzip_bomb(8 << 20)) < 20_000 and gzip.decompress(gzip_bomb(1 << 20)) == bytes(1 << 20)
