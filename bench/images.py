"""Benchmark: proxy throughput on an image-heavy page mix with image hashing on
(an authority hash list loaded) against off (no hash list), in one run.

Two schoolgate processes on the same policies, one with a 10,000-entry image-hash
list (SHA-256, MD5 and PDQ entries of unrelated pictures, so nothing matches and
every image is delivered), one without. Phases alternate off/on so drift on a
shared machine affects both. A bounded asyncio load generator (C keep-alive
connections, D seconds per phase) browses through the explicit proxy.

The page mix: each page view is one HTML page (40 KB) and 20 images drawn from
a pool of 300 with Zipf-like popularity (logos, icons and popular thumbnails
recur, as on any school network where many children open the same pages):
40% small icons under 2 KB, 45% thumbnails (8-40 KB JPEG), 15% large photos
(1200x800 JPEG). Two modes:

- mix:    the pool as described (the PDQ cache answers repeated images)
- unique: every image different bytes (a JPEG comment with a counter), the
          worst case: each one is decoded and PDQ-hashed

Also prints the cost of hashing one image of each kind and of one PDQ lookup
against lists of 10,000 and 1,000,000 entries. Target (issue #12): hashing on at
0.85 or better of off on the image-heavy mix.

    .venv/bin/python bench/images.py [--seconds 10] [--connections 16]
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

from addons.core.hashes import HashIndex, parse_hashes  # noqa: E402
from addons.infra.imagehash import hash_image, pdq_of  # noqa: E402
from tests.helpers.images import encode, picture  # noqa: E402
from tests.helpers.proxy import ProxyProcess  # noqa: E402
from tests.helpers.trees import make_tree  # noqa: E402

POOL = 300
IMAGES_PER_PAGE = 20


def make_pool(rng: random.Random) -> list[tuple[str, bytes]]:
    pool = []
    for i in range(POOL):
        roll = rng.random()
        if roll < 0.40:
            data = encode(picture(i, (24, 24)), "PNG")
        elif roll < 0.85:
            w = rng.choice((200, 240, 320, 400))
            data = encode(picture(i, (w, w * 3 // 4)), quality=80)
        else:
            data = encode(picture(i, (1200, 800)), quality=85)
        pool.append((f"/img/{i}.{'png' if data[:4] == b'\x89PNG' else 'jpg'}", data))
    return pool


def zipf_sequence(rng: random.Random, n: int, length: int, s: float = 1.0) -> list[int]:
    weights = [1 / (k + 1) ** s for k in range(n)]
    order = list(range(n))
    rng.shuffle(order)  # popularity is unrelated to size
    return [order[k] for k in rng.choices(range(n), weights, k=length)]


def unique_jpeg(data: bytes, counter: int) -> bytes:
    """The same picture with a JPEG comment (COM segment) holding a counter: new bytes, same pixels."""
    if data[:2] != b"\xff\xd8":
        return data + counter.to_bytes(8, "big")  # PNG: trailing bytes after IEND are ignored by decoders
    comment = b"bench %d" % counter
    return data[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + data[2:]


class Upstream(ThreadingHTTPServer):
    daemon_threads = True
    images: dict[str, bytes] = {}
    page = b""
    unique = False
    counter = 0
    lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Upstream

    def log_message(self, *a: object) -> None:
        pass

    def do_GET(self) -> None:
        path = "/" + self.path.split("://", 1)[-1].split("/", 1)[-1]
        body = self.server.images.get(path.split("?")[0])
        ctype = "text/html; charset=utf-8"
        if body is None:
            body = self.server.page
        else:
            ctype = "image/png" if path.endswith(".png") else "image/jpeg"
            if self.server.unique:
                with self.server.lock:
                    self.server.counter += 1
                    n = self.server.counter
                body = unique_jpeg(body, n)
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


async def client(port: int, paths: list[str], deadline: float, counts: list[int], errors: list[str]) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.7", 0))
    except OSError as e:
        errors.append(str(e))
        return
    i = 0
    try:
        while time.monotonic() < deadline:
            path = paths[i % len(paths)]
            i += 1
            writer.write(f"GET http://pictures.test{path} HTTP/1.1\r\nHost: pictures.test\r\n\r\n".encode())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length")))
            body = await reader.readexactly(length)
            if status != 200 or (path.startswith("/img/") and b"<svg" in body[:10]):
                errors.append(f"status {status}")
            counts[0] += 1
            counts[1] += length
    except (OSError, asyncio.IncompleteReadError, StopIteration) as e:
        errors.append(repr(e))
    finally:
        writer.close()


async def phase(port: int, sequences: list[list[str]], seconds: float) -> tuple[float, float, list[str]]:
    counts, errors = [0, 0], []  # type: ignore[var-annotated]
    deadline = time.monotonic() + seconds
    start = time.monotonic()
    await asyncio.gather(*(client(port, seq, deadline, counts, errors) for seq in sequences))
    elapsed = time.monotonic() - start
    return counts[0] / elapsed, counts[1] / elapsed / 1e6, errors


def unrelated_list(rng: random.Random, entries: int) -> str:
    lines = []
    for i in range(entries):
        kind = ("sha256", "md5", "pdq")[i % 3]
        digits = 32 if kind == "md5" else 64
        lines.append(f"{kind} {rng.getrandbits(digits * 4):0{digits}x} e{i}")
    return "\n".join(lines) + "\n"


def micro(pool: list[tuple[str, bytes]]) -> None:
    print("one image, in one process (decode + PDQ with its 7 rotations and mirror images):")
    for label, size in (("icon 24x24 PNG", (24, 24)), ("thumbnail 320x240", (320, 240)),
                        ("photo 1200x800", (1200, 800)), ("photo 1920x1080", (1920, 1080))):
        data = encode(picture(7, size), "PNG" if size[0] < 50 else "JPEG")
        n = 20
        t = time.perf_counter()
        for _ in range(n):
            pdq_of(data)
        print(f"  {label:<20} {len(data):>8,} bytes  {1000 * (time.perf_counter() - t) / n:7.2f} ms")
    rng = random.Random(3)
    probe = hash_image(pool[-1][1]).pdq
    for entries in (10_000, 1_000_000):
        index = HashIndex([("l", "csam", parse_hashes("\n".join(
            f"pdq {rng.getrandbits(256):064x} e{i}" for i in range(entries))).entries)])
        n = 20
        t = time.perf_counter()
        for _ in range(n):
            index.match_pdq(probe, 31)
        print(f"  PDQ lookup, 8 hashes against {entries:>9,} listed: {1000 * (time.perf_counter() - t) / n:7.2f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    rng = random.Random(1)
    t = time.perf_counter()
    pool = make_pool(rng)
    print(f"pool: {len(pool)} images, {sum(len(d) for _, d in pool) / 1e6:.1f} MB, made in {time.perf_counter() - t:.1f} s")
    upstream = Upstream(("127.0.0.1", 0), Handler)
    upstream.images = dict(pool)
    upstream.page = b"<!doctype html><html><body>" + b"<p>Bai hoc hom nay.</p>" * 1800 + b"</body></html>"
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    sequences = []
    for c in range(args.connections):
        crng = random.Random(100 + c)
        seq: list[str] = []
        for _ in range(200):  # page views
            seq.append(f"/page/{crng.randrange(50)}")
            seq += [pool[k][0] for k in zipf_sequence(crng, len(pool), IMAGES_PER_PAGE)]
        sequences.append(seq)
    images_share = sum(1 for s in sequences for p in s if p.startswith("/img/")) / sum(len(s) for s in sequences)
    procs: dict[str, ProxyProcess] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        try:
            for mode in ("off", "on"):
                policies, blocklists = make_tree(base / mode)
                if mode == "on":
                    (blocklists / "csam" / "hashes").write_text(unrelated_list(random.Random(5), 10_000))
                procs[mode] = ProxyProcess([
                    "--set", "listen_port=0", "--set", f"mode=upstream:http://127.0.0.1:{upstream.server_address[1]}",
                    "--set", f"schoolgate_policies_dir={policies}", "--set", f"schoolgate_blocklists_dir={blocklists}",
                    "--set", f"schoolgate_data_dir={base / mode / 'data'}", "--set", "schoolgate_metrics_port=0",
                    "--set", "schoolgate_dashboard_port=0",
                ]).start()
            print(f"{args.connections} connections, {args.seconds:.0f} s per phase, {args.rounds} rounds; "
                  f"{100 * images_share:.0f}% of requests are images; machine: {os.cpu_count()} cores\n")
            results: dict[str, dict[str, list[tuple[float, float, int]]]] = {}
            for unique in (False, True):
                label = "unique" if unique else "mix"
                upstream.unique = unique
                results[label] = {"off": [], "on": []}
                for mode in ("off", "on"):  # warm up (worker start, caches)
                    asyncio.run(phase(procs[mode].port, sequences, 2))
                for _ in range(args.rounds):
                    for mode in ("off", "on"):
                        rps, mbps, errors = asyncio.run(phase(procs[mode].port, sequences, args.seconds))
                        results[label][mode].append((rps, mbps, len(errors)))
        finally:
            for p in procs.values():
                p.stop()
    print(f"{'images':<8}{'off req/s':>11}{'on req/s':>11}{'off MB/s':>10}{'on MB/s':>10}{'ratio':>8}{'errors':>8}")
    for label, by in results.items():
        off = sum(r for r, _, _ in by["off"]) / len(by["off"])
        on = sum(r for r, _, _ in by["on"]) / len(by["on"])
        off_mb = sum(m for _, m, _ in by["off"]) / len(by["off"])
        on_mb = sum(m for _, m, _ in by["on"]) / len(by["on"])
        errs = sum(e for _, _, e in by["off"] + by["on"])
        print(f"{label:<8}{off:>11.1f}{on:>11.1f}{off_mb:>10.1f}{on_mb:>10.1f}{on / off:>8.2f}{errs:>8}")
    print("target: ratio >= 0.85 on the mix\n")
    micro(pool)


if __name__ == "__main__":
    main()
