"""Benchmark: list lookups at the scale of a full UT1 subscription.

Loads every list in ../shared/data (UT1 categories and hostsVN), pads them with
generated domains up to --total (default 5,000,000), then measures in one run:

- schoolgate's compiled index: build time, load time (fresh process, from the
  prepared on-disk file), extra resident memory, lookup p50/p99 for hits and
  misses (a lookup = every parent suffix of the host, every category);
- a plain Python set of strings holding the same domains, in the same way.

Targets (issue #4): start < 3 s from the prepared index, < 150 MB extra RSS,
p99 < 20 µs per host.

    .venv/bin/python bench/lists.py [--total 5000000] [--lookups 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def real_lists() -> dict[str, list[str]]:
    from addons.core.lists import parse_list

    out: dict[str, list[str]] = {}
    for d in sorted((SHARED / "ut1").iterdir()):
        f = d / "domains"
        if f.exists():
            out[d.name] = [x for _, x in parse_list(f.read_text("utf-8", "replace")).domains]
    for f in sorted((SHARED / "hostsvn").rglob("hosts*")):
        out.setdefault("hostsvn-" + f.parent.name, []).extend(
            x for _, x in parse_list(f.read_text("utf-8", "replace")).domains)
    return out


def prepare(workdir: Path, total: int) -> tuple[Path, Path, list[str]]:
    """Write a blocklists tree (categories.yaml + one domains file per category)."""
    lists = real_lists()
    real = sum(len(v) for v in lists.values())
    cats = sorted(lists)
    rng = random.Random(5)
    tlds = ["com", "net", "org", "vn", "com.vn", "info", "xyz", "top", "io", "co.uk"]
    pad = max(0, total - real)
    for i in range(pad):
        label = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(rng.randint(6, 14)))
        lists[cats[i % len(cats)]].append(f"{label}{i}.{tlds[i % len(tlds)]}")
    bl = workdir / "blocklists"
    bl.mkdir()
    ids = [c.replace("-", "_") for c in cats]
    (bl / "categories.yaml").write_text("categories:\n" + "".join(
        f"  {i}: {{name: {{vi: {i}, en: {i}}}}}\n" for i in ids))
    for c, i in zip(cats, ids, strict=True):
        (bl / i).mkdir()
        (bl / i / "domains").write_text("\n".join(lists[c]) + "\n")
    all_file = workdir / "all-domains.txt"
    all_file.write_text("\n".join(d for c in cats for d in lists[c]) + "\n")
    sample = [d for c in cats for d in rng.sample(lists[c], min(2000, len(lists[c])))]
    print(f"lists: {real:,} real domains from ../shared/data + {pad:,} generated = {real + pad:,}")
    return bl, all_file, sample


def lookups(kind: str, target: str, sample: list[str], n: int) -> dict[str, float]:
    from addons.core.domains import candidates

    rng = random.Random(9)
    hits = [f"www.{rng.choice(sample)}" for _ in range(n)]
    misses = [f"www.notlisted{i}.example{i % 97}.com" for i in range(n)]
    t0 = time.perf_counter()
    base_rss = rss_mb()
    if kind == "index":
        from addons.infra.loader import open_index

        idx = open_index(Path(target))
        load_s = time.perf_counter() - t0

        def look(h: str) -> bool:
            return bool(idx.lookup(h))
    else:
        data = set(Path(target).read_text().split())
        load_s = time.perf_counter() - t0

        def look(h: str) -> bool:
            return any(c in data for c in candidates(h))
    loaded_rss = rss_mb()
    out = {"load_s": load_s, "rss_after_load_mb": loaded_rss - base_rss}
    for name, hosts in (("hit", hits), ("miss", misses)):
        for h in hosts[:1000]:
            look(h)  # warm the suffix cache as a running proxy would be
        times = []
        found = 0
        for h in hosts:
            candidates.cache_clear() if len(times) % 50_000 == 0 else None
            t = time.perf_counter_ns()
            found += look(h)
            times.append(time.perf_counter_ns() - t)
        times.sort()
        out[f"{name}_p50_us"] = times[len(times) // 2] / 1000
        out[f"{name}_p99_us"] = times[int(len(times) * 0.99)] / 1000
        out[f"{name}_mean_us"] = statistics.fmean(times) / 1000
        out[f"{name}_found"] = found
    out["rss_after_lookups_mb"] = rss_mb() - base_rss
    return out


def child(kind: str, target: str, sample_file: str, n: int) -> None:
    sample = json.loads(Path(sample_file).read_text())
    # Import what a proxy has imported anyway, so its memory is not counted as the lists'.
    import addons.core.domains  # noqa: F401
    import addons.infra.loader  # noqa: F401

    addons.core.domains.candidates("warm.example.com")
    print(json.dumps(lookups(kind, target, sample, n)))


def run_child(kind: str, target: Path, sample_file: Path, n: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(target), str(sample_file), str(n)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--total", type=int, default=5_000_000)
    ap.add_argument("--lookups", type=int, default=200_000)
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.child[2], int(args.child[3]))
        return
    from addons.core.errors import Collector
    from addons.core.settings import Settings
    from addons.infra.loader import build_index_file, discover_lists, load_categories

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t = time.perf_counter()
        bl, all_file, sample = prepare(work, args.total)
        print(f"prepare: {time.perf_counter() - t:.1f} s")
        sample_file = work / "sample.json"
        sample_file.write_text(json.dumps(sample))
        settings = Settings(blocklists_dir=str(bl), data_dir=str(work / "data"))
        errors = Collector()
        cats, _ = load_categories(settings, errors)
        files = discover_lists(settings, cats, errors)
        index = work / "data" / "index.idx"
        t = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        problems = build_index_file(files, cats, 100, index)
        build_s = time.perf_counter() - t
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert not [p for p in problems if not p.warning], problems[:3]
        print(f"index: {index.stat().st_size / 2**20:.0f} MB on disk, built in {build_s:.1f} s "
              f"(peak RSS of the build {peak / 1024:.0f} MB, was {before / 1024:.0f} MB)")
        res = {"schoolgate index": run_child("index", index, sample_file, args.lookups),
               "python set": run_child("set", all_file, sample_file, args.lookups)}
    cols = ["load_s", "rss_after_load_mb", "rss_after_lookups_mb", "hit_p50_us", "hit_p99_us",
            "miss_p50_us", "miss_p99_us"]
    print(f"\n{'structure':<18}" + "".join(f"{c:>22}" for c in cols))
    for name, r in res.items():
        print(f"{name:<18}" + "".join(f"{r[c]:>22.2f}" for c in cols))
    r = res["schoolgate index"]
    print(f"\nhits found: index {r['hit_found']:,}/{args.lookups:,}, set {res['python set']['hit_found']:,}; "
          f"misses wrongly found: {r['miss_found']}")
    ok = r["load_s"] < 3 and r["rss_after_lookups_mb"] < 150 and max(r["hit_p99_us"], r["miss_p99_us"]) < 20
    print(f"targets (load < 3 s, < 150 MB, p99 < 20 us): {'MET' if ok else 'NOT MET'}")
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
