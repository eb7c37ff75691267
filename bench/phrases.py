"""Benchmark: proxy throughput with phrase scanning on a realistic 200 KB
Vietnamese page, against the same proxy with scanning off, in one run.

`schoolgate run` on the test tree; the bench's client address belongs to grade 7
(scanning on) in one proxy and to a group inheriting grade 7 with
`scan_pages: off` in the other. The upstream is nginx, serving a 200 KB
news-like Vietnamese page (words from a real mix, a few weak phrases under the
threshold); the load is wrk, keep-alive HTTP through the explicit proxy. Both
are C programs, so the proxy and its scan process get nearly all of the CPU.
Two page modes:

- same:   the same page every time (the scan cache answers repeats)
- unique: a different page every time (nginx's sub_filter writes its
          $request_id into each body), so every response is scanned

and each with 1 proxy worker (its scan process has the other core) and with
one worker per core (scanning competes with the proxies for the CPU).
Target (issue #6): scanning on at 0.85 or better of scanning off. E2Guardian's
own anchor on this kind of machine: 0.35-0.65 of itself without phrase
filtering. Bounded: each phase runs --seconds; loopback only.

    .venv/bin/python bench/phrases.py [--seconds 12] [--connections 16] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from compare import HERE as COMPARE_DIR  # noqa: E402
from compare import ensure_tools, free_port, stop_tree, tree_cpu, wait_port  # noqa: E402

from tests.helpers.proxy import ProxyProcess  # noqa: E402
from tests.helpers.trees import make_tree  # noqa: E402

WORDS = ("học sinh giáo viên trường lớp bài tập kiểm tra toán văn tiếng anh lịch sử địa lý sinh học vật lý hoá học "
         "thời tiết hôm nay tin tức thể thao bóng đá kinh tế xã hội văn hoá du lịch sức khoẻ gia đình công nghệ "
         "điện thoại máy tính internet mạng xã hội trò chơi âm nhạc phim ảnh Hà Nội Thành phố Hồ Chí Minh Đà Nẵng "
         "Cần Thơ Huế chính phủ quốc hội bộ giáo dục kỳ thi tuyển sinh đại học điểm chuẩn học bổng").split()

NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    charset utf-8;
    etag off;
    server {{
        listen 127.0.0.1:{port};
        add_header X-Upstream yes always;
        location /same/ {{ alias {www}/; }}
        location /unique/ {{
            alias {www}/;
            sub_filter '</body>' '<p>$request_id</p></body>';
            sub_filter_once on;
        }}
    }}
}}
"""


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


def start_nginx(work: Path, page: bytes) -> tuple[subprocess.Popen[bytes], int]:
    www = work / "www"
    www.mkdir(parents=True)
    (www / "page.html").write_bytes(page)
    port = free_port()
    (work / "nginx.conf").write_text(NGINX_CONF.format(dir=work, port=port, www=www))
    proc = subprocess.Popen(["nginx", "-c", str(work / "nginx.conf"), "-p", str(work)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    wait_port("127.0.0.1", port, proc, 15, work / "error.log")
    return proc, port


def wrk(proxy_port: int, mix: Path, seconds: float, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds:g}s", "--timeout", "10s",
         "-s", str(COMPARE_DIR / "mix.lua"), f"http://127.0.0.1:{proxy_port}/", "--", str(mix), "proxy"],
        capture_output=True, text=True, timeout=seconds + 60)
    m = re.search(r"^JSON (\{.*\})$", out.stdout, re.M)
    if not m:
        raise RuntimeError(f"no result from wrk: {out.stdout[-400:]} {out.stderr[-400:]}")
    j = json.loads(m.group(1))
    errors = j["err_connect"] + j["err_read"] + j["err_write"] + j["err_timeout"] + j["status5xx"] + j["filtered"]
    return {"rps": j["requests"] / (j["duration_us"] / 1e6), "requests": j["requests"], "errors": errors,
            "p50_ms": j["p50_us"] / 1000, "p99_ms": j["p99_us"] / 1000}


def measure(proxy: ProxyProcess, mix: Path, seconds: float, connections: int) -> dict[str, float]:
    wrk(proxy.port, mix, 2, connections)  # warm up: connections, certificates, the scan process
    assert proxy.proc is not None
    cpu0 = tree_cpu(proxy.proc.pid)
    r = wrk(proxy.port, mix, seconds, connections)
    r["cpu_ms"] = 1000 * (tree_cpu(proxy.proc.pid) - cpu0) / max(1, r["requests"])
    return r


def start_proxy(base: Path, name: str, group: str, upstream: int, workers: int, *sets: str) -> ProxyProcess:
    d = base / name
    d.mkdir()
    policies, blocklists = make_tree(d, clients=f"clients:\n  - {{network: 127.0.0.1/32, group: {group}}}\n")
    (policies / "bench.yaml").write_text("groups:\n  grade-7-noscan: {inherits: grade-7, scan_pages: off}\n")
    return ProxyProcess([
        "--workers", str(workers),
        "--set", "listen_port=0", "--set", f"mode=upstream:http://127.0.0.1:{upstream}",
        "--set", f"schoolgate_policies_dir={policies}", "--set", f"schoolgate_blocklists_dir={blocklists}",
        "--set", f"schoolgate_data_dir={d / 'data'}", "--set", "schoolgate_metrics_port=0",
        "--set", "schoolgate_dashboard_port=0", *(a for s in sets for a in ("--set", s)),
    ]).start(timeout=60)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=12, help="seconds per phase (at most 120)")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--workers", default=f"1,{os.cpu_count() or 1}", help="proxy worker counts to run (default 1,cores)")
    args = ap.parse_args()
    args.seconds = min(args.seconds, 120)
    worker_counts = sorted({max(1, int(w)) for w in args.workers.split(",")})
    ensure_tools({"nginx": "nginx", "wrk": "wrk"})
    page = make_page(random.Random(1))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        (base / "nginx").mkdir()
        nginx, upstream = start_nginx(base / "nginx", page)
        mixes = {}
        for mode in ("same", "unique"):
            mixes[mode] = base / f"{mode}.mix"
            mixes[mode].write_text(f"news.test /{mode}/page.html\n")
        print(f"page: {len(page):,} bytes of Vietnamese HTML; nginx upstream, wrk with {args.connections} "
              f"connections, {args.seconds:g} s per phase; {os.cpu_count()} cores", flush=True)
        try:
            for workers in worker_counts:
                results: dict[tuple[str, str], dict[str, float]] = {}
                for scan, group in (("off", "grade-7-noscan"), ("on", "grade-7")):
                    proxy = start_proxy(base, f"w{workers}-{scan}", group, upstream, workers)
                    try:
                        for mode in ("same", "unique"):
                            results[(mode, scan)] = measure(proxy, mixes[mode], args.seconds, args.connections)
                            r = results[(mode, scan)]
                            print(f"  {workers} worker(s), scanning {scan:3}, {mode:6} pages: {r['rps']:7.1f} req/s, "
                                  f"{r['cpu_ms']:.1f} ms CPU per page, p50 {r['p50_ms']:.0f} ms, "
                                  f"errors {r['errors']:.0f}", flush=True)
                    finally:
                        proxy.stop()
                    time.sleep(1)
                for mode in ("same", "unique"):
                    rows.append((workers, mode, results[(mode, "off")], results[(mode, "on")]))
        finally:
            stop_tree(nginx)
    print(f"\n{'workers':<9}{'pages':<8}{'scan off req/s':>16}{'scan on req/s':>16}{'ratio':>8}"
          f"{'CPU/page off':>14}{'on':>8}{'errors':>8}")
    errors = 0
    for workers, mode, off, on in rows:
        errors += int(off["errors"] + on["errors"])
        print(f"{workers:<9}{mode:<8}{off['rps']:>16.1f}{on['rps']:>16.1f}{on['rps'] / off['rps']:>8.2f}"
              f"{off['cpu_ms']:>11.1f} ms{on['cpu_ms']:>5.1f} ms{off['errors'] + on['errors']:>8.0f}")
    print("target: ratio >= 0.85 (E2Guardian anchor 0.35-0.65)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
