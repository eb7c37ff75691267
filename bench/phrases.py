"""Benchmark: proxy throughput with phrase scanning on a realistic 200 KB
Vietnamese page, against the same proxy with scanning off, in one run.

One schoolgate process; two client addresses: 127.0.0.7 (grade 7, scanning on)
and 127.0.0.8 (a group inheriting grade 7 with `scan_pages: off`). The upstream
serves a 200 KB news-like Vietnamese page (words from a real mix, a few weak
phrases under the threshold). Two page modes:

- same:   the same page every time (the scan cache answers repeats)
- unique: a different page every time (every response is scanned)

A bounded asyncio load generator (C connections, D seconds per phase) drives
keep-alive HTTP through the explicit proxy. Target (issue #6): scanning on at
0.85 or better of scanning off. E2Guardian's own anchor on this kind of machine:
0.35-0.65 of itself without phrase filtering.

    .venv/bin/python bench/phrases.py [--seconds 12] [--connections 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.proxy import ProxyProcess  # noqa: E402
from tests.helpers.trees import make_tree  # noqa: E402

WORDS = ("học sinh giáo viên trường lớp bài tập kiểm tra toán văn tiếng anh lịch sử địa lý sinh học vật lý hoá học "
         "thời tiết hôm nay tin tức thể thao bóng đá kinh tế xã hội văn hoá du lịch sức khoẻ gia đình công nghệ "
         "điện thoại máy tính internet mạng xã hội trò chơi âm nhạc phim ảnh Hà Nội Thành phố Hồ Chí Minh Đà Nẵng "
         "Cần Thơ Huế chính phủ quốc hội bộ giáo dục kỳ thi tuyển sinh đại học điểm chuẩn học bổng").split()


def make_page(rng: random.Random, size: int = 200_000) -> bytes:
    parts = ["<!doctype html><html lang=vi><head><meta charset=utf-8><title>Tin tức giáo dục</title>"
             "<style>body{font-family:sans-serif}</style><script>var x=1;</script></head><body>"]
    n = 0
    while n < size:
        sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20)))
        block = f"<p>{sentence.capitalize()}.</p>\n"
        parts.append(block)
        n += len(block.encode())
    # two weak phrases, well under every threshold: the page is scanned and passes
    parts.insert(5, "<p>Phóng sự: nhà cái và tỷ lệ kèo trong các giải đấu.</p>\n")
    parts.append("</body></html>")
    return "".join(parts).encode()


class Upstream(ThreadingHTTPServer):
    daemon_threads = True
    unique = False
    page = b""
    counter = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Upstream

    def log_message(self, *a: object) -> None:
        pass

    def do_GET(self) -> None:
        body = self.server.page
        if self.server.unique:
            self.server.counter += 1
            body = body.replace(b"</body>", b"<p>%d</p></body>" % self.server.counter)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_CONNECT = do_GET


async def client(proxy_port: int, source: str, deadline: float, counts: list[int], errors: list[str]) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy_port, local_addr=(source, 0))
    except OSError as e:
        errors.append(str(e))
        return
    i = 0
    try:
        while time.monotonic() < deadline:
            i += 1
            writer.write(f"GET http://news.test/article/{i} HTTP/1.1\r\nHost: news.test\r\n"
                         "Accept: text/html\r\n\r\n".encode())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length")))
            await reader.readexactly(length)
            if status != 200:
                errors.append(f"status {status}")
            counts[0] += 1
    except (OSError, asyncio.IncompleteReadError, StopIteration) as e:
        errors.append(repr(e))
    finally:
        writer.close()


async def phase(port: int, source: str, seconds: float, connections: int) -> tuple[float, list[str]]:
    counts, errors = [0], []  # type: ignore[var-annotated]
    deadline = time.monotonic() + seconds
    start = time.monotonic()
    await asyncio.gather(*(client(port, source, deadline, counts, errors) for _ in range(connections)))
    return counts[0] / (time.monotonic() - start), errors


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=12)
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args()
    rng = random.Random(1)
    page = make_page(rng)
    upstream = Upstream(("127.0.0.1", 0), Handler)
    upstream.page = page
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        clients = ("clients:\n  - {network: 127.0.0.7/32, group: grade-7}\n"
                   "  - {network: 127.0.0.8/32, group: grade-7-noscan}\n")
        policies, blocklists = make_tree(base, clients=clients)
        (policies / "bench.yaml").write_text("groups:\n  grade-7-noscan: {inherits: grade-7, scan_pages: off}\n")
        proxy = ProxyProcess([
            "--set", "listen_port=0", "--set", f"mode=upstream:http://127.0.0.1:{upstream.server_address[1]}",
            "--set", f"schoolgate_policies_dir={policies}", "--set", f"schoolgate_blocklists_dir={blocklists}",
            "--set", f"schoolgate_data_dir={base / 'data'}", "--set", "schoolgate_metrics_port=0",
        ]).start()
        try:
            print(f"page: {len(page):,} bytes of Vietnamese HTML; {args.connections} connections, "
                  f"{args.seconds:.0f} s per phase; proxy pid {proxy.proc.pid if proxy.proc else '?'}")
            results = {}
            for mode in ("same", "unique"):
                upstream.unique = mode == "unique"
                asyncio.run(phase(proxy.port, "127.0.0.8", 2, args.connections))  # warm up
                off, e1 = asyncio.run(phase(proxy.port, "127.0.0.8", args.seconds, args.connections))
                on, e2 = asyncio.run(phase(proxy.port, "127.0.0.7", args.seconds, args.connections))
                results[mode] = (off, on, len(e1) + len(e2))
        finally:
            proxy.stop()
    print(f"\n{'pages':<8}{'scan off req/s':>16}{'scan on req/s':>16}{'ratio':>8}{'errors':>8}")
    for mode, (off, on, errs) in results.items():
        print(f"{mode:<8}{off:>16.1f}{on:>16.1f}{on / off:>8.2f}{errs:>8}")
    print(f"target: ratio >= 0.85 (E2Guardian anchor 0.35-0.65); machine: {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
