"""Benchmark: schoolgate side by side with bare mitmdump, squid + squidGuard and
E2Guardian, plain HTTP and HTTPS with interception, in one run (issue #10).

Everything runs on this machine, on 127.0.0.0/8 only:

- the upstream is one nginx process on 127.0.10.1:80 and :443 that answers every
  test host with the same small site (HTML pages, scripts, styles, images);
- the test hosts (about 200 allowed, uncategorised sites and 50 listed ones)
  resolve to 127.0.10.1 through entries this script adds to /etc/hosts and
  removes at the end, so every proxy reaches the upstream the same way (its own
  name lookup, a direct connection to port 80 or 443) with no upstream-proxy mode;
- the lists are schoolgate's shipped UT1 and hostsVN lists (a temporary copy of
  blocklists/, all categories the default group blocks), and exactly the same
  domains and URLs are written out for squidGuard (compiled with
  `squidGuard -C all`) and for E2Guardian (bannedsitelist, bannedurllist);
  `--lists full` adds UT1's malware and full redirector lists from ../shared/data.

Scenarios (each restarted for each protocol):

  direct              the load generator straight to the upstream
  mitmdump            bare `mitmdump -q` (regular mode, its own CA)
  schoolgate          `schoolgate run` with the shipped policies (devices on no
                      range get the `default` group: primary rules, phrase
                      scanning of uncategorised pages on, safe search ...), all
                      lists loaded, its scan worker; the dashboard is not started
  schoolgate-2w       the same with `--workers 2`: two proxy processes on one
                      port (SO_REUSEPORT); the table adds its ratio to one
                      worker and the memory (PSS) the second worker adds
  squid               squid 5 (Debian's squid-openssl) + squidGuard 1.6,
                      SslBump for HTTPS, no cache
  e2guardian          E2Guardian 5.3 with Debian's default configuration and the
                      same lists, its MITM on for HTTPS (and generatedcertstart
                      moved to yesterday: the default start plus ten years
                      ended in December 2024, so every generated certificate
                      was expired); weighted phrase filtering off
                      (weightedphrasemode 0)
  e2guardian-phrases  the same with Debian's default phrase filtering
                      (weightedphrasemode 2, the shipped weighted phrase lists)

Load: plain HTTP with wrk (keep-alive connections to the proxy, absolute-form
requests rotating over the URL mix, bench/compare/mix.lua). HTTPS with
bench/compare/tlsload.c, compiled here (wrk cannot open a CONNECT tunnel): one
thread per connection; each connection opens a tunnel to the next host of the
mix (CONNECT host:443, a full TLS handshake with the proxy's interception
certificate, no session resumption), sends --per-tunnel keep-alive requests,
closes and opens the next. The same client drives direct HTTPS. Neither client
verifies certificates (wrk does not either); a single request through each
proxy before the load does verify the interception certificate against the
proxy's CA, and checks that an allowed page is served and a listed host is not
(and, for schoolgate, that a gambling page on an allowed host is blocked by
phrase scanning). `--check` stops there: no load.

Per scenario: requests/s, p50/p99 latency, CPU of the proxy's process tree
(% of one core, /proc utime+stime of the tree before and after) and per request,
peak RSS and peak PSS of the tree, the share of responses the filter answered
itself ("filtered": block pages or redirects; about 10% of the mix is listed),
errors, the CPU of the upstream and of the load generator (they share the two
cores with the proxy), and the ratio of requests/s to bare mitmdump for the
same protocol.

Needs root (apt-get, /etc/hosts, ports 80 and 443 on 127.0.10.1). Installs what
is missing from Debian: squid-openssl, squidguard, e2guardian, wrk, nginx, gcc,
libssl-dev.

    .venv/bin/python bench/compare.py [--duration 12] [--connections 50]
        [--only direct,mitmdump,schoolgate,schoolgate-2w,squid,e2guardian,e2guardian-phrases]
        [--protocols http,https] [--per-tunnel 20] [--lists shipped|full] [--json FILE]
        [--check]
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import ipaddress
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import ssl
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

from addons.core.lists import ListFormat, parse_list  # noqa: E402

HERE = Path(__file__).resolve().parent / "compare"
SHARED = ROOT.parent / "shared" / "data"
VENV_BIN = Path(sys.executable).parent
UPSTREAM_IP = "127.0.10.1"
HOSTS_FILE = Path("/etc/hosts")
HOSTS_BEGIN = "# schoolgate bench/compare.py BEGIN (removed at the end of the run)"
HOSTS_END = "# schoolgate bench/compare.py END"
SCENARIOS = ["direct", "mitmdump", "schoolgate", "schoolgate-2w", "squid", "e2guardian", "e2guardian-phrases"]
LABELS = {
    "direct": "direct (no proxy)",
    "mitmdump": "bare mitmdump",
    "schoolgate": "schoolgate (1 worker)",
    "schoolgate-2w": "schoolgate --workers 2",
    "squid": "squid + squidGuard",
    "e2guardian": "E2Guardian (lists)",
    "e2guardian-phrases": "E2Guardian + phrases",
}
CLK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

# Debian packages per binary.
PACKAGES = {
    "squid": "squid-openssl",
    "squidGuard": "squidguard",
    "e2guardian": "e2guardian",
    "wrk": "wrk",
    "nginx": "nginx",
    "gcc": "gcc",
}


def log(msg: str) -> None:
    print(msg, flush=True)


# ----------------------------------------------------------------------------- install


def ensure_tools(packages: dict[str, str] | None = None) -> dict[str, str]:
    """Install what is missing from Debian (all of PACKAGES, or `packages`); returns
    notes (reasons for n/a)."""
    missing = [pkg for binary, pkg in (packages or PACKAGES).items() if shutil.which(binary) is None]
    if packages is None and not Path("/usr/include/openssl/ssl.h").exists():
        missing.append("libssl-dev")
    if missing:
        log(f"installing from Debian: {' '.join(missing)}")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        # Packages must not start their system services (squid, e2guardian, nginx).
        policy = Path("/usr/sbin/policy-rc.d")
        made_policy = not policy.exists()
        if made_policy:
            policy.write_text("#!/bin/sh\nexit 101\n")
            policy.chmod(0o755)
        try:
            cmd = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
            if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL).returncode != 0:
                subprocess.run(
                    ["apt-get", "update"], env=env, stdout=subprocess.DEVNULL, check=True
                )
                subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
        finally:
            if made_policy:
                policy.unlink()
    notes: dict[str, str] = {}
    if packages is not None:
        return notes
    squid_v = subprocess.run(["squid", "-v"], capture_output=True, text=True).stdout
    if "--with-openssl" not in squid_v:
        notes["squid:https"] = (
            "this squid is built without OpenSSL (Debian's `squid` uses GnuTLS and "
            "cannot SslBump; `squid-openssl` can)"
        )
    e2g_v = subprocess.run(["e2guardian", "-v"], capture_output=True, text=True).stdout
    if "--enable-sslmitm=yes" not in e2g_v:
        notes["e2guardian:https"] = notes["e2guardian-phrases:https"] = (
            "E2Guardian built without --enable-sslmitm"
        )
    return notes


def versions() -> dict[str, str]:
    def first(cmd: list[str], pattern: str) -> str:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return "?"
        m = re.search(pattern, out.stdout + out.stderr)
        return m.group(1) if m else "?"

    return {
        "squid": first(["squid", "-v"], r"Version (\S+)"),
        "squidGuard": first(["squidGuard", "-v"], r"SquidGuard:? ?(\S+)"),
        "e2guardian": first(["e2guardian", "-v"], r"e2guardian (\S+)"),
        "mitmproxy": first([str(VENV_BIN / "mitmdump"), "--version"], r"Mitmproxy: (\S+)"),
        "nginx": first(["nginx", "-v"], r"nginx/(\S+)"),
        "wrk": first(["wrk", "-v"], r"wrk (\S+)"),
    }


# ----------------------------------------------------------------------------- certificates


def write_key(key: Any, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )


def make_ca(path_cert: Path, path_key: Path, cn: str) -> tuple[x509.Certificate, Any]:
    """An RSA-2048 CA, as schools deploy for interception."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "bench"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    path_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    write_key(key, path_key)
    return cert, key


def make_upstream_cert(d: Path, hosts: list[str]) -> tuple[Path, Path, Path]:
    """The upstream's CA and an ECDSA P-256 certificate naming every test host."""
    ca_cert, ca_key = make_ca(d / "upstream-ca.pem", d / "upstream-ca.key", "bench upstream CA")
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench upstream")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), critical=False
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    (d / "upstream.pem").write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + ca_cert.public_bytes(serialization.Encoding.PEM)
    )
    write_key(key, d / "upstream.key")
    return d / "upstream-ca.pem", d / "upstream.pem", d / "upstream.key"


# ----------------------------------------------------------------------------- lists


def build_lists(work: Path, full: bool) -> tuple[Path, dict[str, set[str]], dict[str, set[str]]]:
    """A copy of the shipped blocklists (plus UT1 malware and redirector with
    --lists full), and the domains and URLs per category exactly as schoolgate
    parses them, for squidGuard and E2Guardian."""
    blocklists = work / "blocklists"
    shutil.copytree(ROOT / "blocklists", blocklists)
    if full:
        (blocklists / "malware" / "domains").write_bytes(
            (SHARED / "ut1" / "malware" / "domains").read_bytes()
        )
        (blocklists / "proxy" / "domains").write_bytes(
            (SHARED / "ut1" / "redirector" / "domains").read_bytes()
        )
    domains: dict[str, set[str]] = {}
    urls: dict[str, set[str]] = {}
    for catdir in sorted(p for p in blocklists.iterdir() if p.is_dir() and p.name != "phrases"):
        for f in sorted(catdir.iterdir()):
            if not f.is_file() or f.name.endswith(".sig"):
                continue
            fmt = ListFormat.URLS if f.name == "urls" else ListFormat.AUTO
            parsed = parse_list(f.read_text(encoding="utf-8", errors="replace"), fmt)
            domains.setdefault(catdir.name, set()).update(d for _, d in parsed.domains)
            urls.setdefault(catdir.name, set()).update(f"{h}{p}" for _, h, p in parsed.urls)
    return blocklists, domains, urls


ALLOWED_NAMES = [
    "vnexpress.net",
    "dantri.com.vn",
    "tuoitre.vn",
    "thanhnien.vn",
    "vietnamnet.vn",
    "wikipedia.org",
    "khanacademy.org",
    "hocmai.vn",
    "olm.vn",
    "moet.gov.vn",
    "hanoi.edu.vn",
    "python.org",
    "mozilla.org",
    "debian.org",
    "openstreetmap.org",
    "scratch.mit.edu",
    "code.org",
    "duolingo.com",
    "bbc.co.uk",
    "nationalgeographic.com",
]


def is_listed(host: str, all_domains: set[str]) -> bool:
    parts = host.split(".")
    return any(".".join(parts[i:]) in all_domains for i in range(len(parts)))


def make_hosts(domains: dict[str, set[str]], rng: random.Random) -> tuple[list[str], list[str]]:
    """About 200 allowed (unlisted) hosts and 50 listed ones from every category."""
    all_domains = set().union(*domains.values())
    allowed: list[str] = []
    for name in ALLOWED_NAMES:
        allowed += [f"www.{name}", f"static.{name}"]
    for i in range(1, 81):
        allowed += [f"www.thcs-so{i}.edu.vn", f"tin-tuc-{i}.example.vn"]
    allowed = [h for h in allowed if not is_listed(h, all_domains)]
    passthrough = (ROOT / "blocklists" / "passthrough.txt").read_text()
    plain = re.compile(r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$")
    blocked: list[str] = []
    cats = sorted(c for c, ds in domains.items() if len(ds) >= 20)
    for i in range(50):
        cat = cats[i % len(cats)]
        pool = sorted(domains[cat])
        while True:
            d = rng.choice(pool)
            try:
                ipaddress.ip_address(d)
                continue
            except ValueError:
                pass
            if plain.match(d) and len(d) < 60 and d not in passthrough and d not in blocked:
                break
        blocked.append(f"www.{d}" if i % 2 else d)  # half of them as a subdomain of a listed name
    return allowed, blocked


PATHS = [  # (path, weight): about 20% HTML pages, the rest scripts, styles and images
    ("/", 12),
    ("/tin-tuc/1.html", 2),
    ("/tin-tuc/2.html", 2),
    ("/tin-tuc/3.html", 2),
    ("/tin-tuc/4.html", 2),
    ("/static/app.js", 15),
    ("/static/style.css", 15),
    ("/img/icon.png", 10),
    *((f"/img/{i}.jpg", 5) for i in range(1, 9)),
]

WORDS = (
    "học sinh giáo viên trường lớp bài tập kiểm tra toán văn tiếng anh lịch sử địa lý "
    "sinh học vật lý thời tiết hôm nay tin tức thể thao bóng đá kinh tế xã hội văn hoá "
    "du lịch sức khoẻ gia đình công nghệ school pupils teacher lesson homework library "
    "science history geography music football weather "
    "the of and to in is for on with as was by at an be this from"
).split()


def make_site(www: Path, rng: random.Random) -> None:
    def html(size: int, title: str) -> bytes:
        parts = [
            f"<!doctype html><html lang=vi><head><meta charset=utf-8><title>{title}</title>"
            "<link rel=stylesheet href=/static/style.css>"
            "<script src=/static/app.js></script></head><body>"
        ]
        n = 0
        while n < size:
            sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20)))
            link = f"<a href=/tin-tuc/{rng.randint(1, 4)}.html>Xem thêm</a>"
            block = f"<p>{sentence.capitalize()}. {link}</p>\n"
            parts.append(block)
            n += len(block.encode())
        parts.append("<img src=/img/1.jpg><img src=/img/icon.png></body></html>")
        return "".join(parts).encode()

    (www / "tin-tuc").mkdir(parents=True)
    (www / "static").mkdir()
    (www / "img").mkdir()
    (www / "index.html").write_bytes(html(8_000, "Trang chủ"))
    for i in range(1, 5):
        (www / "tin-tuc" / f"{i}.html").write_bytes(html(25_000, f"Tin tức {i}"))
    (www / "static" / "app.js").write_bytes(
        b"".join(b"function f%d(a){return a*%d+1;}\n" % (i, i) for i in range(500))
    )
    (www / "static" / "style.css").write_bytes(
        b"".join(b".c%d{margin:%dpx;color:#%06x}\n" % (i, i % 20, i * 997) for i in range(150))
    )
    # Not in the load mix: a gambling page (schoolgate's phrase lists, far over the threshold)
    # that the check request expects schoolgate's phrase scanning to block.
    (www / "kiem-tra").mkdir()
    (www / "kiem-tra" / "cuoc.html").write_text(
        "<!doctype html><html lang=vi><head><meta charset=utf-8><title>Cá độ</title></head><body>"
        + "<p>Cá độ bóng đá, sòng bài trực tuyến, nhà cái uy tín, casino trực tuyến, "
        "soi kèo, tỷ lệ kèo.</p>" * 5 + "</body></html>",
        encoding="utf-8",
    )
    (www / "img" / "icon.png").write_bytes(b"\x89PNG\r\n\x1a\n" + rng.randbytes(900))
    for i in range(1, 9):
        (www / "img" / f"{i}.jpg").write_bytes(
            b"\xff\xd8\xff\xe0" + rng.randbytes(rng.randint(3_000, 30_000)) + b"\xff\xd9"
        )


def write_mix(
    path: Path, allowed: list[str], blocked: list[str], rng: random.Random, n: int = 20_000
) -> None:
    """host path lines: 90% allowed hosts (Zipf-like popularity), 10% listed hosts."""
    weights = [1 / (k + 1) for k in range(len(allowed))]
    paths, pweights = zip(*PATHS)
    lines = []
    for _ in range(n):
        host = rng.choice(blocked) if rng.random() < 0.10 else rng.choices(allowed, weights)[0]
        lines.append(f"{host} {rng.choices(paths, pweights)[0]}")
    path.write_text("\n".join(lines) + "\n")


# ----------------------------------------------------------------------------- /etc/hosts


class HostsEntries:
    """Test hosts resolve to the upstream through /etc/hosts; restored exactly afterwards."""

    def __init__(self, hosts: list[str]):
        self.hosts = hosts
        self.original: str | None = None

    def __enter__(self) -> HostsEntries:
        text = HOSTS_FILE.read_text()
        if HOSTS_BEGIN in text:  # left by an interrupted run
            text = re.sub(
                re.escape(HOSTS_BEGIN) + r".*?" + re.escape(HOSTS_END) + r"\n?",
                "",
                text,
                flags=re.S,
            )
        self.original = text
        block = [HOSTS_BEGIN] + [f"{UPSTREAM_IP} {h}" for h in self.hosts] + [HOSTS_END]
        # Write in place: /etc/hosts is often a bind mount that cannot be replaced by rename.
        HOSTS_FILE.write_text(
            text + ("" if text.endswith("\n") else "\n") + "\n".join(block) + "\n"
        )
        return self

    def __exit__(self, *exc: object) -> None:
        if self.original is not None:
            HOSTS_FILE.write_text(self.original)


# ----------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def tree(pid: int) -> list[int]:
    kids = children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def tree_cpu(pid: int) -> float:
    """CPU seconds of the tree: each live process's own time plus its reaped children's."""
    total = 0
    for p in tree(pid):
        try:
            f = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    return total / CLK


def memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in bytes; (0, 0) once it is gone."""
    try:
        rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return rss, int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0, 0


def tree_memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of the tree in bytes."""
    sizes = [memory(p) for p in tree(pid)]
    return sum(r for r, _ in sizes), sum(p for _, p in sizes)


def wait_port(
    host: str, port: int, proc: subprocess.Popen[bytes], timeout: float, logfile: Path
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}: {tail(logfile)}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"not listening on {host}:{port} after {timeout:.0f} s: {tail(logfile)}")


def tail(path: Path, n: int = 8) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-n:])
    except OSError:
        return ""


def stop_tree(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM the process we started, then SIGKILL whatever is left of its tree (by pid)."""
    if proc is None or proc.poll() is not None:
        return
    pids = tree(proc.pid)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(8)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    for p in pids[1:]:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


# ----------------------------------------------------------------------------- the proxies


class Env:
    """Everything the scenarios share."""

    def __init__(self, work: Path, args: argparse.Namespace):
        self.work = work
        self.args = args
        self.blocklists: Path
        self.domains: dict[str, set[str]]
        self.urls: dict[str, set[str]]
        self.allowed: list[str]
        self.blocked: list[str]
        self.mix: Path
        self.upstream_ca: Path
        self.tlsload: Path


class Proxy:
    """One proxy under test: start() returns the port; ca is the interception CA (PEM)."""

    name = ""
    ca: Path | None = None

    def __init__(self, env: Env):
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.dir = env.work / self.name
        self.dir.mkdir(exist_ok=True)
        self.logfile = self.dir / "output.log"

    def prepare(self) -> None:
        """Once per run (configs, compiled lists)."""

    def command(self, port: int) -> tuple[list[str], dict[str, str] | None, Path | None]:
        raise NotImplementedError

    def start(self, protocol: str) -> int:
        port = free_port()
        cmd, env, cwd = self.command(port)
        with open(self.logfile, "ab") as out:
            self.proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True
            )
        wait_port("127.0.0.1", port, self.proc, 90, self.logfile)
        return port

    def stop(self) -> None:
        stop_tree(self.proc)
        self.proc = None


class Mitmdump(Proxy):
    name = "mitmdump"

    def command(self, port: int) -> tuple[list[str], dict[str, str] | None, Path | None]:
        self.ca = self.dir / "conf" / "mitmproxy-ca-cert.pem"
        return (
            [
                str(VENV_BIN / "mitmdump"),
                "-q",
                "--listen-host",
                "127.0.0.1",
                "--listen-port",
                str(port),
                "--set",
                f"confdir={self.dir / 'conf'}",
                "--set",
                f"ssl_verify_upstream_trusted_ca={self.env.upstream_ca}",
            ],
            None,
            self.dir,
        )


class Schoolgate(Proxy):
    name = "schoolgate"
    workers = 1

    def command(self, port: int) -> tuple[list[str], dict[str, str] | None, Path | None]:
        data = self.dir / "data"
        self.ca = data / "ca" / "mitmproxy-ca-cert.pem"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        return (
            [
                sys.executable,
                "-m",
                "addons.cli",
                "run",
                "--workers",
                str(self.workers),
                "--set",
                "listen_host=127.0.0.1",
                "--set",
                f"listen_port={port}",
                "--set",
                f"schoolgate_blocklists_dir={self.env.blocklists}",
                "--set",
                f"schoolgate_data_dir={data}",
                "--set",
                "schoolgate_dashboard_port=0",
                "--set",
                f"schoolgate_metrics_port={free_port()}",
                "--set",
                f"ssl_verify_upstream_trusted_ca={self.env.upstream_ca}",
            ],
            env,
            self.dir,
        )

    def start(self, protocol: str) -> int:
        port = super().start(protocol)
        # The list index is built (or mapped) before the proxy decides anything:
        # wait for the ready line.
        deadline = time.monotonic() + 120
        while "schoolgate proxy listening" not in self.logfile.read_text(errors="replace"):
            if time.monotonic() > deadline or (self.proc and self.proc.poll() is not None):
                raise RuntimeError(f"schoolgate did not start: {tail(self.logfile)}")
            time.sleep(0.2)
        return port


class SchoolgateWorkers(Schoolgate):
    name = "schoolgate-2w"
    workers = 2


class Squid(Proxy):
    name = "squid"

    def prepare(self) -> None:
        d = self.dir
        self.ca = d / "ca.pem"
        make_ca(self.ca, d / "ca.key", "bench squid CA")
        sg = d / "squidguard"
        db = sg / "db"
        db.mkdir(parents=True)
        (sg / "log").mkdir()
        dests, names = [], []
        for cat in sorted(self.env.domains):
            doms, urls = self.env.domains[cat], self.env.urls.get(cat, set())
            if not doms and not urls:
                continue
            (db / cat).mkdir()
            lines = [f"dest {cat} {{"]
            if doms:
                (db / cat / "domains").write_text("\n".join(sorted(doms)) + "\n")
                lines.append(f"    domainlist {cat}/domains")
            if urls:
                (db / cat / "urls").write_text("\n".join(sorted(urls)) + "\n")
                lines.append(f"    urllist {cat}/urls")
            lines.append("    log blocked.log")
            lines.append("}")
            dests.append("\n".join(lines))
            names.append(cat)
        conf = (
            f"dbhome {db}\nlogdir {sg / 'log'}\n\n"
            + "\n\n".join(dests)
            + "\n\nacl {\n    default {\n"
            f"        pass {' '.join('!' + n for n in names)} all\n"
            "        redirect 302:http://blocked.bench.invalid/blocked.html?url=%u\n    }\n}\n"
        )
        self.sg_conf = sg / "squidGuard.conf"
        self.sg_conf.write_text(conf)
        t = time.monotonic()
        r = subprocess.run(
            ["squidGuard", "-b", "-C", "all", "-c", str(self.sg_conf)],
            capture_output=True,
            text=True,
        )
        if r.returncode != 0:
            raise RuntimeError(f"squidGuard -C all failed: {r.stderr[-500:]}")
        log(
            f"  squidGuard -C all: {time.monotonic() - t:.1f} s, "
            f"{len(list(db.rglob('*.db')))} databases, "
            f"{sum(len(v) for v in self.env.domains.values()):,} domains"
        )
        self.ssl_db = d / "ssl_db"
        subprocess.run(
            ["/usr/lib/squid/security_file_certgen", "-c", "-s", str(self.ssl_db), "-M", "16MB"],
            check=True,
            capture_output=True,
        )
        subprocess.run(["chown", "-R", "proxy:proxy", str(d)], check=True)

    def command(self, port: int) -> tuple[list[str], dict[str, str] | None, Path | None]:
        conf = string.Template((HERE / "squid.conf").read_text()).substitute(
            port=port,
            ca_cert=self.ca,
            ca_key=self.dir / "ca.key",
            ssl_db=self.ssl_db,
            upstream_ca=self.env.upstream_ca,
            sg_conf=self.sg_conf,
            sg_children=16,
            dir=self.dir,
        )
        path = self.dir / "squid.conf"
        path.write_text(conf)
        r = subprocess.run(
            ["squid", "-k", "parse", "-f", str(path)], capture_output=True, text=True
        )
        if r.returncode != 0:
            raise RuntimeError(f"squid -k parse: {(r.stdout + r.stderr)[-600:]}")
        return ["squid", "-N", "-f", str(path)], None, self.dir


class E2Guardian(Proxy):
    name = "e2guardian"
    phrases = False

    def prepare(self) -> None:
        d = self.dir
        etc = d / "etc"
        shutil.copytree("/etc/e2guardian", etc)
        for f in etc.rglob("*"):  # every path in the configuration and story files
            if f.is_file() and not f.is_symlink():
                text = f.read_text(errors="surrogateescape")
                if "/etc/e2guardian" in text:
                    f.write_text(
                        text.replace("/etc/e2guardian", str(etc)), errors="surrogateescape"
                    )
        lists = etc / "lists"
        (lists / "bannedsitelist").write_text(
            "# bench/compare.py: schoolgate's lists, every category\n"
            + "\n".join(sorted(set().union(*self.env.domains.values())))
            + "\n"
        )
        (lists / "bannedurllist").write_text(
            "# bench/compare.py: schoolgate's URL lists\n"
            + "\n".join(sorted(set().union(*self.env.urls.values())))
            + "\n"
        )
        # the interception CA, its key, the key of generated certificates
        priv = d / "private"
        (priv / "generatedcerts").mkdir(parents=True)
        self.ca = priv / "ca.pem"
        make_ca(self.ca, priv / "ca.key", "bench e2guardian CA")
        write_key(rsa.generate_private_key(public_exponent=65537, key_size=2048), priv / "cert.key")
        # the upstream's CA, for checking upstream certificates (mitmcheckcert on)
        trust = d / "trust"
        trust.mkdir()
        shutil.copy(self.env.upstream_ca, trust / "upstream-ca.pem")
        subprocess.run(["openssl", "rehash", str(trust)], check=True, capture_output=True)
        (d / "log").mkdir()
        self.trust, self.priv = trust, priv
        subprocess.run(["chown", "-R", "e2guardian:e2guardian", str(d)], check=True)

    def command(self, port: int) -> tuple[list[str], dict[str, str] | None, Path | None]:
        etc = self.dir / "etc"
        conf = (etc / "e2guardian.conf").read_text()
        settings = {
            "filterip": "127.0.0.1",
            "filterports": str(port),
            "transparenthttpsport": str(free_port()),
            "loglevel": "1",  # denied requests only, as schoolgate records blocks
            "loglocation": f"'{self.dir / 'log' / 'access.log'}'",
            "pidfilename": f"'{self.dir / 'e2guardian.pid'}'",
            "nodaemon": "on",
            "logconnectionhandlingerrors": "off",
            "weightedphrasemode": "2" if self.phrases else "0",
            "enablessl": "on",
            "sslcertificatepath": f"'{self.trust}/'",
            "cacertificatepath": f"'{self.priv / 'ca.pem'}'",
            "caprivatekeypath": f"'{self.priv / 'ca.key'}'",
            "certprivatekeypath": f"'{self.priv / 'cert.key'}'",
            "generatedcertpath": f"'{self.priv / 'generatedcerts'}/'",
            # The default start (2014-12-06) plus the default ten years has passed: every
            # generated certificate would be expired. Start them yesterday.
            "generatedcertstart": str(int(time.time()) - 86400),
        }
        for key, value in settings.items():
            conf, n = re.subn(rf"(?m)^#?\s*{key}\s*=.*$", f"{key} = {value}", conf, count=1)
            if n == 0:
                conf += f"\n{key} = {value}\n"
        (etc / "e2guardian.conf").write_text(conf)
        f1 = (etc / "e2guardianf1.conf").read_text()
        f1 = re.sub(r"(?m)^sslmitm\s*=.*$", "sslmitm = on", f1)
        (etc / "e2guardianf1.conf").write_text(f1)
        return ["e2guardian", "-N", "-c", str(etc / "e2guardian.conf")], None, self.dir


class E2GuardianPhrases(E2Guardian):
    name = "e2guardian-phrases"
    phrases = True


PROXIES: dict[str, type[Proxy]] = {
    "mitmdump": Mitmdump,
    "schoolgate": Schoolgate,
    "schoolgate-2w": SchoolgateWorkers,
    "squid": Squid,
    "e2guardian": E2Guardian,
    "e2guardian-phrases": E2GuardianPhrases,
}


# ----------------------------------------------------------------------------- the upstream


def start_upstream(env: Env, hosts: list[str]) -> subprocess.Popen[bytes]:
    d = env.work / "upstream"
    (d / "www").mkdir(parents=True)
    make_site(d / "www", random.Random(2))
    env.upstream_ca, cert, key = make_upstream_cert(d, hosts)
    conf = string.Template((HERE / "nginx.conf").read_text()).substitute(
        ip=UPSTREAM_IP, dir=d, cert=cert, key=key, www=d / "www"
    )
    (d / "nginx.conf").write_text(conf)
    logfile = d / "error.log"
    proc = subprocess.Popen(
        ["nginx", "-c", str(d / "nginx.conf"), "-p", str(d)],
        stdout=subprocess.DEVNULL,
        stderr=open(d / "stderr.log", "wb"),
        start_new_session=True,
    )
    wait_port(UPSTREAM_IP, 80, proc, 15, logfile)
    wait_port(UPSTREAM_IP, 443, proc, 15, logfile)
    return proc


# ----------------------------------------------------------------------------- checks


def one_request(
    protocol: str, host: str, port: int | None, ca: Path | None, path: str = "/"
) -> tuple[int, bool]:
    """One GET of path on host, through the proxy on port (None: straight to the upstream).
    HTTPS checks the certificate against ca. Returns (status, served by the upstream)."""
    if protocol == "http":
        if port is None:
            conn = http.client.HTTPConnection(UPSTREAM_IP, 80, timeout=20)
            conn.request("GET", path, headers={"Host": host})
        else:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
            conn.request("GET", f"http://{host}{path}", headers={"Host": host})
    else:
        ctx = ssl.create_default_context(cafile=str(ca))
        if port is None:
            conn = http.client.HTTPSConnection(host, 443, timeout=20, context=ctx)
        else:
            conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=20, context=ctx)
            conn.set_tunnel(host, 443)
        conn.request("GET", path)
    try:
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheader("X-Upstream") is not None
    finally:
        conn.close()


def smoke(
    protocol: str,
    port: int | None,
    ca: Path | None,
    allowed: str,
    blocked: str,
    filtering: bool,
    phrases: bool = False,
) -> str | None:
    """None when an allowed page is served and (for a filter) a listed host is not; else why."""
    try:
        status, served = one_request(protocol, allowed, port, ca)
        if not served or status != 200:
            return f"allowed page {allowed}: status {status}, from upstream: {served}"
        status, served = one_request(protocol, blocked, port, ca)
        if filtering and served:
            return f"listed host {blocked} was served (status {status}): the filter does not block"
        if phrases:
            status, served = one_request(protocol, allowed, port, ca, "/kiem-tra/cuoc.html")
            if served:
                return (
                    f"a gambling page on {allowed} was served (status {status}): "
                    "phrase scanning is not on"
                )
    except (OSError, ssl.SSLError, http.client.HTTPException) as e:
        return f"{type(e).__name__}: {e}"
    return None


# ----------------------------------------------------------------------------- load


def run_client(cmd: list[str]) -> tuple[str, float]:
    """Run a load generator; (stdout, its CPU seconds)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.stdout.read(), p.stderr.read()  # type: ignore[union-attr]
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(
            f"{cmd[0]} exited with {p.returncode}: {err.decode(errors='replace')[-400:]}"
        )
    return out.decode(errors="replace"), ru.ru_utime + ru.ru_stime


def load_command(env: Env, protocol: str, port: int | None, seconds: float) -> list[str]:
    a = env.args
    if protocol == "http":
        url = f"http://{UPSTREAM_IP}:80/" if port is None else f"http://127.0.0.1:{port}/"
        return [
            "wrk",
            "-t",
            str(a.threads),
            "-c",
            str(a.connections),
            "-d",
            f"{seconds:g}s",
            "--timeout",
            "10s",
            "-s",
            str(HERE / "mix.lua"),
            url,
            "--",
            str(env.mix),
            "direct" if port is None else "proxy",
        ]
    target = ["-a", f"{UPSTREAM_IP}:443"] if port is None else ["-x", f"127.0.0.1:{port}"]
    return [
        str(env.tlsload),
        "-c",
        str(a.connections),
        "-d",
        f"{seconds:g}",
        "-u",
        str(env.mix),
        "-r",
        str(a.per_tunnel),
        *target,
    ]


def parse_load(protocol: str, out: str) -> dict[str, Any]:
    if protocol == "http":
        m = re.search(r"^JSON (\{.*\})$", out, re.M)
        if not m:
            raise RuntimeError(f"no result from wrk: {out[-400:]}")
        j = json.loads(m.group(1))
        return {
            "requests": j["requests"],
            "seconds": j["duration_us"] / 1e6,
            "p50_ms": j["p50_us"] / 1000,
            "p99_ms": j["p99_us"] / 1000,
            "served": j["served"],
            "filtered": j["filtered"],
            # a body that ends when the proxy closes the connection is complete, not an error
            "errors": j["err_connect"]
            + max(0, j["err_read"] - j["eof_bodies"])
            + j["err_write"]
            + j["err_timeout"]
            + j["status5xx"],
            "error_detail": {
                k: j[k]
                for k in (
                    "err_connect",
                    "err_read",
                    "err_write",
                    "err_timeout",
                    "status5xx",
                    "eof_bodies",
                )
            },
        }
    j = json.loads(out.strip().splitlines()[-1])
    return {
        "requests": j["requests"],
        "seconds": j["duration"],
        "p50_ms": j["p50_ms"],
        "p99_ms": j["p99_ms"],
        "served": j["served"],
        "filtered": j["filtered"],
        "errors": j["err_connect"] + j["err_tls"] + j["err_io"] + j["status5xx"],
        "error_detail": {
            k: j[k]
            for k in (
                "err_connect",
                "err_tls",
                "err_io",
                "status5xx",
                "closed_by_proxy",
                "connect_refused",
            )
        },
        "tunnels": j["tunnels"],
        "setup_p50_ms": j["setup_p50_ms"],
        "setup_p99_ms": j["setup_p99_ms"],
    }


def measure(
    env: Env, protocol: str, port: int | None, proxy_pid: int | None, upstream_pid: int
) -> dict[str, Any]:
    a = env.args
    run_client(
        load_command(env, protocol, port, a.warmup)
    )  # warm up: certificates, caches, helpers
    watched = proxy_pid or upstream_pid
    cpu0, up0, t0 = tree_cpu(watched), tree_cpu(upstream_pid), time.monotonic()
    p = subprocess.Popen(
        load_command(env, protocol, port, a.duration),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    peak_rss = peak_pss = 0
    while True:  # wait4, not Popen.poll: it also gives the client's CPU time (rusage)
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        rss, pss = tree_memory(watched)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(0.5)
    elapsed = time.monotonic() - t0
    cpu1, up1 = tree_cpu(watched), tree_cpu(upstream_pid)
    out, err = p.stdout.read(), p.stderr.read()  # type: ignore[union-attr]
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(
            f"load generator exited with {p.returncode}: {err.decode(errors='replace')[-400:]}"
        )
    r = parse_load(protocol, out.decode(errors="replace"))
    r["rps"] = r["requests"] / r["seconds"] if r["seconds"] else 0.0
    if proxy_pid:
        r["cpu_pct"] = 100 * (cpu1 - cpu0) / elapsed
        r["cpu_ms_per_req"] = 1000 * (cpu1 - cpu0) / max(r["requests"], 1)
        r["rss_mb"], r["pss_mb"] = peak_rss / 1e6, peak_pss / 1e6
    r["upstream_cpu_pct"] = 100 * (up1 - up0) / elapsed
    r["client_cpu_pct"] = 100 * (ru.ru_utime + ru.ru_stime) / elapsed
    return r


def run_one(
    env: Env, name: str, protocol: str, proxy: Proxy | None, upstream_pid: int
) -> dict[str, Any]:
    """Start the proxy, check it with single requests, then measure it under load."""
    port = proxy.start(protocol) if proxy else None
    why = smoke(
        protocol,
        port,
        proxy.ca if proxy else env.upstream_ca,
        env.allowed[0],
        env.blocked[0],
        filtering=name not in ("direct", "mitmdump"),
        phrases=name.startswith("schoolgate"),
    )
    if why:
        raise RuntimeError(f"check request failed: {why}")
    if env.args.check:
        log(f"{name:<20} {protocol:<5} check OK")
        return {"check": "ok"}
    pid = proxy.proc.pid if proxy and proxy.proc else None
    r = measure(env, protocol, port, pid, upstream_pid)
    filtered = 100 * r["filtered"] / max(r["requests"], 1)
    log(
        f"{name:<20} {protocol:<5} {r['rps']:>9,.0f} req/s  p50 {r['p50_ms']:.1f} ms  "
        f"p99 {r['p99_ms']:.1f} ms  cpu {r.get('cpu_pct', 0):.0f}%  "
        f"filtered {filtered:.1f}%  errors {r['errors']}"
        + (f"  tunnels {r['tunnels']}" if "tunnels" in r else "")
    )
    return r


# ----------------------------------------------------------------------------- report


def fmt_row(name: str, protocol: str, r: dict[str, Any], base: dict[str, Any] | None) -> str:
    if "na" in r:
        return f"| {LABELS[name]} | {protocol.upper()} | n/a: {r['na']} |" + " |" * 9
    ratio = f"{r['rps'] / base['rps']:.2f}" if base and base.get("rps") else "–"
    cpu = f"{r['cpu_pct']:.0f}%" if "cpu_pct" in r else "–"
    cpu_req = f"{r['cpu_ms_per_req']:.2f}" if "cpu_ms_per_req" in r else "–"
    mem = f"{r['rss_mb']:.0f} / {r['pss_mb']:.0f}" if "rss_mb" in r else "–"
    filtered = 100 * r["filtered"] / max(r["requests"], 1)
    return (
        f"| {LABELS[name]} | {protocol.upper()} | {r['rps']:,.0f} | {r['p50_ms']:.1f} | "
        f"{r['p99_ms']:.1f} | {cpu} | {cpu_req} | {mem} | {filtered:.1f}% | {r['errors']} | "
        f"{r['upstream_cpu_pct']:.0f}% / {r['client_cpu_pct']:.0f}% | "
        f"**{ratio}** |"
    )


def table(
    results: dict[tuple[str, str], dict[str, Any]], protocols: list[str], names: list[str]
) -> str:
    lines = [
        "| scenario | protocol | req/s | p50 ms | p99 ms | proxy CPU | CPU ms/req | RSS / PSS MB | "
        "filtered | errors | upstream / client CPU | vs mitmdump |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for protocol in protocols:
        base = results.get(("mitmdump", protocol))
        base = base if base and "rps" in base else None
        for name in names:
            r = results.get((name, protocol))
            if r is not None and ("rps" in r or "na" in r):
                lines.append(fmt_row(name, protocol, r, base))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--duration",
        type=float,
        default=12,
        help="seconds of measured load per scenario (default 12)",
    )
    ap.add_argument(
        "--warmup", type=float, default=3, help="seconds of unmeasured load first (default 3)"
    )
    ap.add_argument(
        "--connections", type=int, default=50, help="concurrent client connections (default 50)"
    )
    ap.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    ap.add_argument(
        "--per-tunnel",
        type=int,
        default=20,
        help="HTTPS requests per tunnel before the client opens a new one (0: never; default 20)",
    )
    ap.add_argument(
        "--only",
        default=",".join(SCENARIOS),
        help=f"scenarios (default all: {','.join(SCENARIOS)})",
    )
    ap.add_argument("--protocols", default="http,https", help="http,https (default both)")
    ap.add_argument(
        "--lists",
        choices=("shipped", "full"),
        default="shipped",
        help="shipped: schoolgate's shipped UT1/hostsVN lists; "
        "full: plus UT1 malware and redirector",
    )
    ap.add_argument(
        "--check",
        action="store_true",
        help="start every proxy and send the check requests, but run no load",
    )
    ap.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = ap.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    protocols = [p.strip() for p in args.protocols.split(",") if p.strip()]
    for n in names:
        if n not in SCENARIOS:
            ap.error(f"unknown scenario {n!r}; choose from {', '.join(SCENARIOS)}")
    for p in protocols:
        if p not in ("http", "https"):
            ap.error(f"unknown protocol {p!r}")
    if os.geteuid() != 0:
        ap.error(
            "run as root: it installs packages, edits /etc/hosts "
            "and listens on 127.0.10.1:80 and :443"
        )
    started = time.monotonic()
    # SIGTERM ends the run through the finally blocks (processes stopped, /etc/hosts restored).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))

    notes = ensure_tools()
    vers = versions()
    work = Path(tempfile.mkdtemp(prefix="schoolgate-compare-"))
    work.chmod(0o755)  # squid and E2Guardian drop to their own users
    upstream: subprocess.Popen[bytes] | None = None
    proxy: Proxy | None = None
    results: dict[tuple[str, str], dict[str, Any]] = {}
    try:
        env = Env(work, args)
        t = time.monotonic()
        env.blocklists, env.domains, env.urls = build_lists(work, args.lists == "full")
        n_domains = len(set().union(*env.domains.values()))
        n_urls = len(set().union(*env.urls.values()))
        rng = random.Random(1)
        env.allowed, env.blocked = make_hosts(env.domains, rng)
        env.mix = work / "mix.txt"
        write_mix(env.mix, env.allowed, env.blocked, rng)
        log(
            f"lists: {n_domains:,} domains and {n_urls:,} URLs in {len(env.domains)} categories "
            f"({time.monotonic() - t:.1f} s); "
            f"hosts: {len(env.allowed)} allowed, {len(env.blocked)} listed"
        )
        env.tlsload = work / "tlsload"
        subprocess.run(
            [
                "gcc",
                "-O2",
                "-o",
                str(env.tlsload),
                str(HERE / "tlsload.c"),
                "-lssl",
                "-lcrypto",
                "-lpthread",
            ],
            check=True,
        )
        with HostsEntries(env.allowed + env.blocked):
            upstream = start_upstream(env, env.allowed + env.blocked)
            proxies: dict[str, Proxy] = {}
            for name in names:
                if name == "direct":
                    continue
                try:
                    proxies[name] = PROXIES[name](env)
                    proxies[name].prepare()
                except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
                    notes[f"{name}:http"] = notes[f"{name}:https"] = f"setup failed: {e}"
            log(
                f"setup done in {time.monotonic() - started:.0f} s; "
                f"{args.connections} connections, "
                f"{args.warmup:g} s warm-up + {args.duration:g} s per scenario\n"
            )
            for protocol in protocols:
                for name in names:
                    key = (name, protocol)
                    if f"{name}:{protocol}" in notes:
                        results[key] = {"na": notes[f"{name}:{protocol}"]}
                        log(f"{name:<20} {protocol:<5} n/a: {results[key]['na']}")
                        continue
                    proxy = proxies.get(name)
                    try:
                        results[key] = run_one(env, name, protocol, proxy, upstream.pid)
                    except (RuntimeError, OSError) as e:
                        results[key] = {"na": f"failed: {e}"[:300]}
                        log(f"{name:<20} {protocol:<5} FAILED: {e}")
                    finally:
                        if proxy:
                            proxy.stop()
    finally:
        if proxy:
            proxy.stop()
        stop_tree(upstream)
        shutil.rmtree(work, ignore_errors=True)

    total = time.monotonic() - started
    print()
    print(
        f"{datetime.date.today()}, {os.cpu_count()} cores; {args.connections} connections, "
        f"{args.duration:g} s per scenario after {args.warmup:g} s warm-up; "
        f"HTTP: wrk {vers['wrk']}, HTTPS: tlsload ({args.per_tunnel} requests per tunnel); "
        f"total {total:.0f} s"
    )
    print(
        f"lists: {n_domains:,} domains, {n_urls:,} URLs; versions: "
        + ", ".join(f"{k} {v}" for k, v in vers.items())
    )
    print()
    print(table(results, protocols, names))
    for protocol in protocols:
        one, two = results.get(("schoolgate", protocol)), results.get(("schoolgate-2w", protocol))
        if one and two and one.get("rps") and two.get("rps"):
            print(f"{protocol.upper()}: 2 workers / 1 worker = {two['rps'] / one['rps']:.2f}x requests/s; "
                  f"the second worker adds {two['pss_mb'] - one['pss_mb']:.0f} MB PSS "
                  f"({two['rss_mb'] - one['rss_mb']:.0f} MB RSS)")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "date": str(datetime.date.today()),
                    "cores": os.cpu_count(),
                    "args": vars(args) | {"json": str(args.json)},
                    "versions": vers,
                    "domains": n_domains,
                    "urls": n_urls,
                    "results": [
                        {"scenario": n, "protocol": p, **r} for (n, p), r in results.items()
                    ],
                },
                indent=2,
                default=str,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
