"""Soak benchmark (#10): schoolgate under a steady load for a long time while its
lists refresh and its policy is edited, checking that nothing fails and that
memory does not grow.

One `schoolgate run --workers N` on the shipped policies and the shipped lists
(every category loaded), plus:
- a list source served by a local HTTP server (`refresh: 1m`); the bench adds a
  new domain to it every `--list-every` seconds, and checks that each one is
  blocked once the proxy has fetched it;
- a teacher's policy file rewritten every `--policy-every` seconds, alternately
  denying and allowing a site for grade 7; the bench checks that every worker
  applies each edit within `--apply-within` seconds.
The load is a fixed rate of page views from a grade-7 address, a new connection
each (plain HTTP and HTTPS through CONNECT with interception): allowed pages
(a 60 KB Vietnamese article, phrase-scanned), blocked sites (403 block page)
and searches (safe search). Every answer is checked against what the policy
says it must be; anything else, a timeout or a refused connection is an error.

Memory is the PSS of the whole process tree (leader, workers, their scan and
image-hash helpers), sampled every `--sample-every` seconds. Growth is measured
from the end of the warm-up to the end of the run, as the medians of the first
and of the last two minutes of samples (one sample can land on a burst); the run
fails if any error happened or memory grew by more than `--max-growth` (10%).

Bounded: at most 240 minutes and 300 page views per second, loopback only.

    .venv/bin/python bench/soak.py                       # 30 minutes, 40 views/s, 2 workers
    .venv/bin/python bench/soak.py --minutes 3 --rate 20  # a quick check
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import ssl
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from addons.infra.tasks import spawn  # noqa: E402
from bench.compare import memory, tree, tree_memory  # noqa: E402
from tests.helpers.listserver import ListServer  # noqa: E402
from tests.helpers.proxy import ProxyProcess  # noqa: E402
from tests.helpers.trees import CLIENTS_YAML  # noqa: E402
from tests.helpers.upstream import Upstream  # noqa: E402

CLIENT = "127.0.0.7"  # grade 7 (lower secondary) in CLIENTS_YAML
TOGGLE = "lesson-toggle.soak.test"  # denied and allowed in turn by the teacher's file
ARTICLE_HOST = "bao-tin-tuc.soak.test"
MB = 1024 * 1024
RAMP = 30.0  # seconds to reach the full rate


def article() -> bytes:
    """About 60 KB of ordinary Vietnamese news text: scanned, scores nothing."""
    para = ("<p>Sáng nay, học sinh trường Trung học cơ sở Nguyễn Du đã tham gia ngày hội đọc sách. "
            "Các em giới thiệu những cuốn sách yêu thích, thảo luận về lịch sử Việt Nam và "
            "thi kể chuyện theo nhóm. Thầy hiệu trưởng cho biết thư viện sẽ mở cửa cả buổi chiều.</p>\n")
    body = "<!doctype html><html lang=vi><head><meta charset=utf-8><title>Tin tức</title></head><body>"
    body += para * (60_000 // len(para.encode()))
    return (body + "</body></html>").encode()


def blocked_domains(blocklists: Path, n: int) -> list[str]:
    """Some domains of the shipped adult list (blocked for every student group)."""
    out: list[str] = []
    for f in sorted((blocklists / "adult").glob("*")):
        if f.name == "urls":
            continue
        for line in f.read_text(errors="replace").splitlines():
            words = line.split("#", 1)[0].split()  # "domain" or "0.0.0.0 domain"
            if words and "." in words[-1] and words[-1] not in ("localhost", "0.0.0.0", "127.0.0.1"):
                out.append(words[-1])
            if len(out) >= n:
                return out
    if not out:
        raise SystemExit(f"no domains found under {blocklists / 'adult'}")
    return out


@dataclass
class Tally:
    done: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    in_flight: int = 0
    skipped: int = 0  # not started because too many were still waiting (counts as an error)
    latencies: list[float] = field(default_factory=list)
    max_indexes: int = 0  # list index files mapped by one worker at a sample

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        if len(self.examples) < 10:
            self.examples.append(f"{time.strftime('%H:%M:%S')} {kind}: {detail}")


async def fetch(port: int, url: str, ctx: ssl.SSLContext, timeout: float) -> int:
    """One page view on a new connection: the HTTP status."""
    scheme, _, rest = url.partition("://")
    host, _, path = rest.partition("/")
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(CLIENT, 0))
    try:
        async def go() -> int:
            if scheme == "https":
                writer.write(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                if b" 200 " not in head.split(b"\r\n", 1)[0]:
                    return int(head.split(b" ", 2)[1])
                await writer.start_tls(ctx, server_hostname=host)
                target = "/" + path
            else:
                target = url
            writer.write(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nAccept: text/html\r\n"
                         "Accept-Encoding: identity\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            await reader.read()  # the whole body, until the proxy closes
            return int(head.split(b" ", 2)[1])

        return await asyncio.wait_for(go(), timeout)
    finally:
        writer.close()


class Soak:
    def __init__(self, args: argparse.Namespace, port: int, blocked: list[str]):
        self.args = args
        self.port = port
        self.blocked = blocked
        self.tally = Tally()
        self.rng = random.Random(10)
        self.ctx = ssl.create_default_context()
        self.ctx.check_hostname = False
        self.ctx.verify_mode = ssl.CERT_NONE  # the proxy's certificates, from the school's CA

    def next_view(self, i: int) -> tuple[str, int]:
        """(URL, the status the policy requires)."""
        roll = self.rng.random()
        scheme = "https" if self.rng.random() < 0.5 else "http"
        if roll < 0.55:
            return f"{scheme}://{ARTICLE_HOST}/bai-{i % 500}", 200
        if roll < 0.75:
            return f"{scheme}://site{i % 2000}.lop7.soak.test/bai-hoc", 200  # uncategorised, scanned
        if roll < 0.90:
            return f"{scheme}://{self.rng.choice(self.blocked)}/", 403
        return f"{scheme}://www.google.com/search?q=bai+tap+toan+lop+7+so+{i}", 200

    async def view(self, url: str, want: int) -> None:
        self.tally.in_flight += 1
        t0 = time.monotonic()
        try:
            status = await fetch(self.port, url, self.ctx, self.args.timeout)
            self.tally.latencies.append(time.monotonic() - t0)
        except TimeoutError:
            self.tally.error("timeout", url)
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError, ValueError, IndexError) as e:
            self.tally.error(type(e).__name__, f"{url}: {e}")
        else:
            if status != want:
                self.tally.error(f"HTTP {status}", f"{url} (expected {want})")
        finally:
            self.tally.in_flight -= 1
            self.tally.done += 1

    async def load(self, until: float) -> None:
        """The fixed rate, reached over the first `RAMP` seconds (as a school's morning)."""
        tasks: set[asyncio.Task[None]] = set()
        start, i = time.monotonic(), 0
        next_at = start
        while time.monotonic() < until:
            if self.tally.in_flight >= self.args.concurrency:
                self.tally.skipped += 1
                self.tally.error("overload", f"{self.tally.in_flight} page views still waiting")
            else:
                url, want = self.next_view(i)
                task = spawn(self.view(url, want), name="page view")
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            i += 1
            ramp = min(1.0, 0.2 + 0.8 * (time.monotonic() - start) / RAMP)
            next_at += 1.0 / (self.args.rate * ramp)
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        if tasks:
            await asyncio.wait(tasks, timeout=self.args.timeout + 5)

    async def everywhere(self, url: str, want: int, within: float) -> float | None:
        """Seconds until `want` was answered for 2 s in a row (every worker); None if not within."""
        t0 = time.monotonic()
        since = None
        while time.monotonic() - t0 < within + 2:
            try:
                status = await fetch(self.port, url, self.ctx, self.args.timeout)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ssl.SSLError):
                status = 0
            now = time.monotonic()
            if status != want:
                since = None
            elif since is None:
                since = now
            elif now - since >= 2:
                return since - t0
            await asyncio.sleep(0.1)
        return None


async def edit_policy(soak: Soak, policy: Path, until: float, applied: list[float]) -> None:
    deny = True
    while time.monotonic() + soak.args.policy_every < until:
        await asyncio.sleep(soak.args.policy_every)
        entry = f"deny: [{TOGGLE}]" if deny else "allow: [soak-allowed.test]"
        policy.write_text(f"# soak edit {time.time():.0f}\ngroups:\n  grade-7:\n    {entry}\n", encoding="utf-8")
        took = await soak.everywhere(f"http://{TOGGLE}/", 403 if deny else 200, soak.args.apply_within)
        if took is None:
            soak.tally.error("policy edit not applied", f"{entry} not in force on every worker "
                                                        f"within {soak.args.apply_within:.0f} s")
        else:
            applied.append(took)
        deny = not deny


async def refresh_lists(soak: Soak, server: ListServer, until: float, picked_up: list[float]) -> None:
    n = 0
    domains = [f"old-{k}.soaklist.test" for k in range(5000)]
    while time.monotonic() + soak.args.list_every < until:
        await asyncio.sleep(soak.args.list_every)
        n += 1
        new = f"new-{n}.soaklist.test"
        domains.append(new)
        server.serve("/soak.txt", ("\n".join(domains) + "\n").encode())
        # `refresh: 1m` and the updater's 30 s round: fetched within about 90 s, then reloaded.
        within = min(150.0, max(0.0, until - time.monotonic() - 3))
        took = await soak.everywhere(f"http://{new}/", 403, within)
        if took is None:
            if within >= 120:
                soak.tally.error("list update not applied", f"{new} not blocked within {within:.0f} s")
        else:
            picked_up.append(took)


def worker_pids(pid: int) -> list[int]:
    """The proxy workers (not their scan and image-hash helpers), leader first."""
    out = []
    for p in sorted(tree(pid)):
        try:
            if b"addons.cli" in Path(f"/proc/{p}/cmdline").read_bytes():
                out.append(p)
        except OSError:
            continue
    return out


def mapped_indexes(pid: int) -> int:
    """How many list index files a worker maps: 1, or 2 for a moment while it swaps. An
    old index still mapped later is a snapshot kept alive, and its pages count in PSS."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return 0
    return len({line.split(None, 5)[-1] for line in maps.splitlines() if "/index/local-" in line})


async def sample(soak: Soak, pid: int, t0: float, until: float, samples: list[tuple[float, int, int, int]],
                 upstream: Upstream) -> None:
    last_done = 0
    while time.monotonic() < until:
        await asyncio.sleep(min(soak.args.sample_every, max(0.1, until - time.monotonic())))
        upstream.seen.clear()  # the test upstream's record of requests: not needed here
        rss, pss = tree_memory(pid)
        t = time.monotonic() - t0
        done = soak.tally.done
        samples.append((t, pss, rss, done))
        errors = sum(soak.tally.errors.values())
        workers = worker_pids(pid)
        indexes = [mapped_indexes(w) for w in workers]
        soak.tally.max_indexes = max([soak.tally.max_indexes, *indexes])
        print(f"  {t / 60:6.1f} min  {(done - last_done) / soak.args.sample_every:6.1f} views/s  "
              f"errors {errors:4d}  PSS {pss / MB:7.1f} MB  RSS {rss / MB:7.1f} MB  "
              f"(proxy workers {' + '.join(f'{memory(w)[1] / MB:.0f}' for w in workers)} MB, "
              f"list indexes mapped {'/'.join(map(str, indexes))})", flush=True)
        last_done = done


async def run(args: argparse.Namespace, proxy: ProxyProcess, server: ListServer, upstream: Upstream,
              policy: Path, blocked: list[str]) -> int:
    assert proxy.proc is not None
    soak = Soak(args, proxy.port, blocked)
    t0 = time.monotonic()
    until = t0 + args.minutes * 60
    samples: list[tuple[float, int, int, int]] = []
    applied: list[float] = []
    picked_up: list[float] = []
    await asyncio.gather(soak.load(until), edit_policy(soak, policy, until, applied),
                         refresh_lists(soak, server, until, picked_up), sample(soak, proxy.proc.pid, t0, until, samples, upstream))
    elapsed = time.monotonic() - t0
    t = soak.tally
    warm = [s for s in samples if s[0] >= args.warmup] or samples
    # PSS moves by a few MB from one sample to the next (bodies in flight, a list
    # refresh): compare the medians of the first and the last two minutes after
    # the warm-up rather than two single samples, and show the trend of the second half.
    window = max(1, round(120 / args.sample_every))
    base_pss, end_pss = median(s[1] for s in warm[:window]), median(s[1] for s in warm[-window:])
    growth = (end_pss - base_pss) / base_pss if base_pss else 0.0
    single = (warm[-1][1] - warm[0][1]) / warm[0][1] if warm and warm[0][1] else 0.0
    half = [s for s in warm if s[0] >= (warm[0][0] + warm[-1][0]) / 2]
    slope = (half[-1][1] - half[0][1]) / max(1e-9, (half[-1][0] - half[0][0]) / 60) if len(half) > 1 else 0.0
    max_pss = max(s[1] for s in samples) if samples else 0
    errors = sum(t.errors.values())
    print()
    print(f"duration        {elapsed / 60:.1f} min, {args.workers} workers, target {args.rate:.0f} views/s")
    print(f"page views      {t.done} ({t.done / elapsed:.1f}/s), errors {errors}"
          + (f": {dict(t.errors)}" if errors else ""))
    lat = sorted(t.latencies) or [0.0]
    print(f"latency         p50 {1000 * lat[len(lat) // 2]:.0f} ms, p99 {1000 * lat[int(len(lat) * 0.99)]:.0f} ms, "
          f"max {1000 * lat[-1]:.0f} ms (a new connection per page view)")
    print(f"policy edits    {len(applied)} applied on every worker, "
          f"median {sorted(applied)[len(applied) // 2] if applied else 0:.1f} s, max {max(applied, default=0):.1f} s")
    print(f"list refreshes  {len(picked_up)} new domains blocked after the update, "
          f"median {sorted(picked_up)[len(picked_up) // 2] if picked_up else 0:.0f} s; "
          f"at most {t.max_indexes} list indexes mapped by one worker at a sample")
    print(f"memory (PSS)    {base_pss / MB:.1f} MB after warm-up (median of {window} samples from "
          f"{warm[0][0] / 60:.1f} min), {end_pss / MB:.1f} MB at the end (median of the last {window}), "
          f"max {max_pss / MB:.1f} MB: growth {100 * growth:+.1f}% (limit {100 * args.max_growth:.0f}%); "
          f"first to last sample {100 * single:+.1f}%; second half {slope / MB:+.2f} MB/min")
    log = Path(tempfile.gettempdir()) / f"schoolgate-soak-{time.strftime('%Y%m%d-%H%M%S')}.log"
    log.write_text("\n".join(proxy.lines) + "\n", encoding="utf-8")
    print(f"proxy log       {log} ({len(proxy.lines)} lines: reloads, list updates, warnings)")
    restarts = [line for line in proxy.lines if "stopped (exit" in line]
    if restarts:
        print(f"worker restarts {len(restarts)}: {restarts[:3]}")
    for line in t.examples:
        print(f"  {line}")
    ok = errors == 0 and growth <= args.max_growth and not restarts and applied
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0, help="length of the run (default 30)")
    ap.add_argument("--rate", type=float, default=40.0, help="page views per second (default 40)")
    ap.add_argument("--workers", type=int, default=2, help="proxy worker processes (default 2)")
    ap.add_argument("--concurrency", type=int, default=64, help="page views waiting at most (default 64)")
    ap.add_argument("--timeout", type=float, default=15.0, help="seconds one page view may take (default 15)")
    ap.add_argument("--policy-every", type=float, default=30.0, help="seconds between policy edits (default 30)")
    ap.add_argument("--apply-within", type=float, default=5.0,
                    help="seconds an edit may take to apply on every worker (default 5)")
    ap.add_argument("--list-every", type=float, default=120.0,
                    help="seconds between changes of the served list (default 120)")
    ap.add_argument("--sample-every", type=float, default=30.0, help="seconds between memory samples (default 30)")
    ap.add_argument("--warmup", type=float, default=120.0, help="seconds before the memory baseline (default 120)")
    ap.add_argument("--max-growth", type=float, default=0.10, help="memory growth allowed (default 0.10)")
    args = ap.parse_args()
    if not (0 < args.minutes <= 240 and 0 < args.rate <= 300 and 1 <= args.workers <= 16
            and 1 <= args.concurrency <= 512 and args.policy_every >= 5 and args.list_every >= 60):
        ap.error("keep the run bounded: --minutes up to 240, --rate up to 300, --workers 1-16, "
                 "--concurrency 1-512, --policy-every at least 5, --list-every at least 60")
    args.warmup = min(args.warmup, args.minutes * 60 / 3)
    shipped = ROOT / "blocklists"
    blocked = blocked_domains(shipped, 200)
    with tempfile.TemporaryDirectory(prefix="sg-soak-") as tmp, Upstream(Path(tmp)) as upstream, \
            ListServer() as server:
        base = Path(tmp)
        policies, blocklists = base / "policies", base / "blocklists"
        shutil.copytree(ROOT / "policies", policies)
        shutil.copytree(shipped, blocklists)
        (policies / "clients.yaml").write_text(CLIENTS_YAML, encoding="utf-8")
        policy = policies / "teacher-grade-7.yaml"
        policy.write_text("groups:\n  grade-7:\n    allow: [soak-allowed.test]\n", encoding="utf-8")
        server.serve("/soak.txt", b"".join(f"old-{k}.soaklist.test\n".encode() for k in range(5000)))
        (blocklists / "sources.yaml").write_text(
            f"sources:\n  soak:\n    url: '{server.url('/soak.txt')}'\n    format: domains\n"
            "    category: malware\n    refresh: 1m\n", encoding="utf-8")
        page = article()
        for i in range(500):
            upstream.serve(f"{ARTICLE_HOST}/bai-{i}", "text/html; charset=utf-8", page)
        proxy = ProxyProcess([
            "--workers", str(args.workers), "--set", "listen_port=0", "--set", f"mode=upstream:{upstream.url}",
            "--set", "ssl_insecure=true", "--set", f"schoolgate_policies_dir={policies}",
            "--set", f"schoolgate_blocklists_dir={blocklists}", "--set", f"schoolgate_data_dir={base / 'data'}",
            "--set", "schoolgate_metrics_port=0", "--set", "schoolgate_dashboard_port=0",
        ]).start(timeout=120)
        print(f"schoolgate {args.workers} workers on port {proxy.port}; shipped policies and lists; "
              f"{args.rate:.0f} views/s for {args.minutes:.0f} min; a policy edit every {args.policy_every:.0f} s, "
              f"a list change every {args.list_every:.0f} s; memory baseline after {args.warmup:.0f} s", flush=True)
        try:
            return asyncio.run(run(args, proxy, server, upstream, policy, blocked))
        finally:
            proxy.stop()


if __name__ == "__main__":
    sys.exit(main())
