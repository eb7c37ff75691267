"""Benchmark: a realistic HTTPS mix through schoolgate with `tls: intercept`
(every connection decrypted) against `tls: selective` (decrypted only where the
policy needs the content), in one run.

Two schoolgate processes on the same shipped policies and test lists; the
student group (grade 7, lower secondary) is `intercept` in one and `selective`
in the other. Phases alternate so drift on a shared machine affects both. A
bounded asyncio client opens a new connection per page view, as browsers do
for a new site: CONNECT through the explicit proxy, a TLS handshake (with the
proxy's certificate when it decrypts, the site's own when it passes through),
one GET, close. The sites sit behind a local upstream (mitmproxy upstream mode)
that answers every host on loopback.

The mix, by default: 75% page views on allowed, categorised sites (a fresh
host name each time, under categories the group may use), 12% searches on a
safe-search engine, 13% pages on uncategorised sites (scanned). Selective
passes the first kind through unread and decrypts the rest.

Printed per mode: page views per second, the proxy's CPU per page view (user +
system time of the proxy process tree) and the ratio selective / intercept.

    .venv/bin/python bench/selective.py [--seconds 8] [--rounds 3] [--connections 12]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import ssl
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.proxy import ProxyProcess  # noqa: E402
from tests.helpers.trees import make_tree  # noqa: E402
from tests.helpers.upstream import Upstream  # noqa: E402

CLIENT = "127.0.0.7"  # grade 7 in the test tree's clients.yaml
CATEGORISED = ("games.test", "social.test")  # allowed for grade 7, and in a category


def page_views(rng: random.Random, n: int, categorised: float, searches: float) -> list[tuple[str, str]]:
    out = []
    for i in range(n):
        roll = rng.random()
        if roll < categorised:
            out.append((f"p{i}.{rng.choice(CATEGORISED)}", "/lesson"))
        elif roll < categorised + searches:
            out.append(("www.google.com", f"/search?q=bai+tap+toan+{i}"))
        else:
            out.append((f"site{i}.uncategorised-news.test", "/article"))
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (scan workers)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


async def view(port: int, host: str, path: str, ctx: ssl.SSLContext) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(CLIENT, 0))
    try:
        writer.write(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            return 0
        await writer.start_tls(ctx, server_hostname=host)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/html\r\nConnection: close\r\n\r\n"
                     .encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        await reader.read()  # until the server closes
        return status
    finally:
        writer.close()


async def phase(port: int, views: list[tuple[str, str]], connections: int, seconds: float
                ) -> tuple[int, list[str]]:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # both the proxy's and the sites' test certificates
    done, errors = [0], []  # type: ignore[var-annotated]
    deadline = time.monotonic() + seconds
    cursor = [0]

    async def worker() -> None:
        while time.monotonic() < deadline:
            host, path = views[cursor[0] % len(views)]
            cursor[0] += 1
            try:
                status = await asyncio.wait_for(view(port, host, path, ctx), 15)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ssl.SSLError) as e:
                errors.append(f"{host}: {e!r}")
                continue
            if status != 200:
                errors.append(f"{host}: HTTP {status}")
            done[0] += 1

    await asyncio.gather(*(worker() for _ in range(connections)))
    return done[0], errors


def start(base: Path, upstream: Upstream, mode: str) -> ProxyProcess:
    policies, blocklists = make_tree(base / mode)
    p = policies / "lower-secondary.yaml"
    text = p.read_text()
    if mode != "intercept":
        text = text.replace("    safe_search: true", f"    tls: {mode}\n    safe_search: true", 1)
    # Games and social networks open all day, so the mix is the same whatever the hour of the run.
    text = text.replace("games: {block_during: school-day}", "games: allow", 1)
    p.write_text(text.replace("social_networks: {block_during: school-day}", "social_networks: allow", 1))
    return ProxyProcess([
        "--set", "listen_port=0", "--set", f"mode=upstream:{upstream.url}", "--set", "ssl_insecure=true",
        "--set", f"schoolgate_policies_dir={policies}", "--set", f"schoolgate_blocklists_dir={blocklists}",
        "--set", f"schoolgate_data_dir={base / mode / 'data'}", "--set", "schoolgate_metrics_port=0",
        "--set", "schoolgate_dashboard_port=0",
    ]).start()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=8.0, help="length of one phase (default 8)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating intercept/selective rounds (default 3)")
    ap.add_argument("--connections", type=int, default=12, help="concurrent page views (default 12)")
    ap.add_argument("--categorised", type=float, default=0.75, help="share of allowed, categorised sites")
    ap.add_argument("--searches", type=float, default=0.12, help="share of searches")
    args = ap.parse_args()
    if not (0 < args.seconds <= 60 and 0 < args.rounds <= 10 and 0 < args.connections <= 64
            and 0 <= args.categorised + args.searches <= 1):
        ap.error("keep the run bounded: --seconds 1-60, --rounds 1-10, --connections 1-64; shares up to 1")
    views = page_views(random.Random(7), 20_000, args.categorised, args.searches)
    print(f"mix: {args.categorised:.0%} allowed categorised sites, {args.searches:.0%} searches, "
          f"{1 - args.categorised - args.searches:.0%} uncategorised pages; a new TLS connection per page view; "
          f"{args.connections} at once, {args.rounds} x {args.seconds:.0f} s per mode")
    with tempfile.TemporaryDirectory(prefix="sg-selective-") as tmp, Upstream(Path(tmp)) as upstream:
        proxies = {mode: start(Path(tmp), upstream, mode) for mode in ("intercept", "selective")}
        totals = {mode: [0, 0.0, 0.0] for mode in proxies}  # views, seconds, proxy CPU
        errors: dict[str, list[str]] = {mode: [] for mode in proxies}
        try:
            for mode, proc in proxies.items():  # warm up: certificates generated, lists loaded
                asyncio.run(phase(proc.port, views[:200], args.connections, 2))
            for r in range(args.rounds):
                for mode in (("intercept", "selective") if r % 2 == 0 else ("selective", "intercept")):
                    proc = proxies[mode]
                    assert proc.proc is not None
                    cpu0, t0 = cpu_seconds(proc.proc.pid), time.monotonic()
                    n, errs = asyncio.run(phase(proc.port, views, args.connections, args.seconds))
                    elapsed, cpu = time.monotonic() - t0, cpu_seconds(proc.proc.pid) - cpu0
                    totals[mode][0] += n
                    totals[mode][1] += elapsed
                    totals[mode][2] += cpu
                    errors[mode] += errs
                    print(f"  round {r + 1} {mode:<10} {n / elapsed:8.1f} views/s  "
                          f"proxy CPU {1000 * cpu / max(n, 1):6.2f} ms per view  errors {len(errs)}")
        finally:
            for proc in proxies.values():
                proc.stop()
    print()
    print(f"{'mode':<12}{'views/s':>10}{'proxy CPU ms/view':>20}{'proxy busy':>12}{'errors':>8}")
    rate = {}
    for mode, (n, secs, cpu) in totals.items():
        rate[mode] = n / secs
        print(f"{mode:<12}{n / secs:>10.1f}{1000 * cpu / max(n, 1):>20.2f}{100 * cpu / secs:>11.0f}%"
              f"{len(errors[mode]):>8}")
    cpu_ratio = (totals["selective"][2] / max(totals["selective"][0], 1)) / \
        (totals["intercept"][2] / max(totals["intercept"][0], 1))
    print(f"selective / intercept: {rate['selective'] / rate['intercept']:.2f}x the page views per second, "
          f"{cpu_ratio:.2f}x the proxy CPU per page view")
    for mode, errs in errors.items():
        if errs:
            print(f"{mode} errors (first 3): {errs[:3]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
