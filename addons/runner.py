"""Runs mitmproxy in-process with the schoolgate addon chain (`schoolgate run`)."""

from __future__ import annotations

import asyncio
import difflib
import errno
import functools
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from mitmproxy import certs, exceptions, hooks, options
from mitmproxy.addons import (
    block,
    core,
    default_addons,
    disable_h2c,
    dns_resolver,
    errorcheck,
    next_layer,
    proxyauth,
    proxyserver,
    strip_dns_https_records,
    tlsconfig,
    update_alt_svc,
    upstream_auth,
)
from mitmproxy.master import Master

from addons.chain import Chain
from addons.core.settings import Settings
from addons.core.snapshot import Runtime
from addons.infra import memory
from addons.infra.prefork import ForkedProcess, fork_worker
from addons.infra.workers import (
    ENV,
    SOCKET_NAME,
    WorkerRole,
    default_workers,
    die_with_parent,
    free_port,
    listen_with_reuse_port,
    role_from_env,
    wait_for_leader,
)
from addons.schoolgate import make_addons

logger = logging.getLogger(__name__)

# mitmproxy's own addons that `schoolgate run` keeps (docs/performance.md). Left out:
# replay, saving flows, map/modify rules, sticky cookies, anticache, its blocklist,
# its onboarding app (schoolgate answers its own reserved host), console commands.
# `mitmdump -s addons/schoolgate.py` still has all of them.
MITMPROXY_ADDONS = (
    core.Core, block.Block, strip_dns_https_records.StripDnsHttpsRecords, disable_h2c.DisableH2C,
    proxyauth.ProxyAuth, proxyserver.Proxyserver, dns_resolver.DnsResolver, next_layer.NextLayer,
    tlsconfig.TlsConfig, upstream_auth.UpstreamAuth, update_alt_svc.UpdateAltSvc,
)

CA_BASENAME = "mitmproxy"  # mitmproxy's tlsconfig looks for <confdir>/mitmproxy-ca.pem


def ensure_ca(confdir: Path, school_name: str) -> Path:
    """Create the school's CA on first run (a school-specific name), return the cert path."""
    cert = confdir / f"{CA_BASENAME}-ca-cert.pem"
    if not (confdir / f"{CA_BASENAME}-ca.pem").exists():
        confdir.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = f"schoolgate CA - {school_name}" if school_name else "schoolgate CA"
        certs.CertStore.create_store(confdir, CA_BASENAME, 2048, organization="schoolgate", cn=name[:64])
    return cert


def set_value(sets: Sequence[str], name: str) -> str | None:
    value = None
    for spec in sets:
        key, sep, val = spec.partition("=")
        if sep and key == name:
            value = val
    return value


def unknown_options_message(opts: options.Options) -> str:
    parts = []
    for name in opts.deferred:
        close = difflib.get_close_matches(name, list(opts.keys()), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else " See 'mitmdump --options' and docs/settings.md."
        parts.append(f"Unknown option '{name}'.{hint}")
    return " ".join(parts)


async def build_master(settings: Settings, sets: Sequence[str], runtime: Runtime,
                       termlog: bool = True, argv: Sequence[str] = ()) -> Master:
    """A configured master, not yet running. Raises OptionsError on any bad option."""
    opts = options.Options()
    master = Master(opts, with_termlog=termlog)
    # Only the mitmproxy addons a filtering proxy uses: every addon in mitmproxy's chain
    # is called for every event of every request, whether or not it has that hook.
    master.addons.add(*[a for a in default_addons() if isinstance(a, MITMPROXY_ADDONS)], errorcheck.ErrorCheck())
    confdir = Path(set_value(sets, "confdir") or settings.ca_path).expanduser()
    ensure_ca(confdir, settings.school_name)
    opts.update(
        listen_host=settings.listen_host,
        listen_port=settings.listen_port,
        confdir=str(confdir),
        # Never contact a site before deciding on it (blocked hosts stay uncontacted).
        connection_strategy="lazy",
    )
    opts.update_defer(**{k: v for k, v in settings.as_options().items() if k.startswith("schoolgate_")})
    opts.set(*sets, defer=True)
    chain = Chain(make_addons(runtime, argv))  # one addon for mitmproxy to call (addons/chain.py)
    master.addons.add(chain)
    if opts.deferred:
        raise exceptions.OptionsError(unknown_options_message(opts))
    # Addons added to a master get configure only on later option changes; give ours
    # the full configuration now, in chain order, as mitmproxy's script loader does.
    master.addons.invoke_addon_sync(chain, hooks.ConfigureHook(set(opts.keys())))
    return master


def start_dashboard(settings: Settings, sets: Sequence[str], config: str | None) -> subprocess.Popen[bytes] | None:
    """The dashboard is a separate process, so a slow page never stalls the proxy."""
    if not settings.dashboard_port:
        return None
    cmd = [sys.executable, "-m", "dashboard"]
    if config:
        cmd += ["--config", config]
    for spec in sets:
        if spec.startswith("schoolgate_"):
            cmd += ["--set", spec]
    return subprocess.Popen(cmd)


def without_set(argv: Sequence[str], name: str) -> list[str]:
    """The command line without its `--set name=...` (either spelling)."""
    out: list[str] = []
    skip = False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg == "--set" and i + 1 < len(argv) and argv[i + 1].partition("=")[0] == name:
            skip = True
            continue
        if arg.startswith("--set=") and arg[6:].partition("=")[0] == name:
            continue
        out.append(arg)
    return out


def port_taken(host: str, port: int) -> str | None:
    """Why nobody else may be on the port: with SO_REUSEPORT a second proxy of the same
    user would silently share it, so the leader checks with a plain bind first."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host or "0.0.0.0", port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                return "another program is listening on it"
            return e.strerror or str(e)
    return None


def run(settings: Settings, sets: Sequence[str], config: str | None = None, workers: int | None = None,
        argv: Sequence[str] = ()) -> int:
    """`schoolgate run`: one proxy process, or (workers > 1) the leader of several."""
    sets, argv = list(sets), list(argv)
    memory.tune()  # before forking: the followers inherit the allocator's settings
    role = role_from_env()
    rundir: Path | None = None
    forked: dict[int, ForkedProcess] = {}
    if role is None:
        count = workers or settings.workers or default_workers()
        if count > 1:
            if settings.listen_port == 0:  # every worker needs the same port
                port = free_port(settings.listen_host)
                sets = [s for s in sets if s.partition("=")[0] != "listen_port"] + [f"listen_port={port}"]
                argv = without_set(argv, "listen_port") + ["--set", f"listen_port={port}"]
                settings = replace(settings, listen_port=port)
            why = port_taken(settings.listen_host, settings.listen_port)
            if why:
                print(f"schoolgate: cannot listen on {settings.listen_host}:{settings.listen_port}: {why}. "
                      "Fix: stop the other program, or choose another listen_port.", flush=True)
                return 1
            rundir = Path(tempfile.mkdtemp(prefix="schoolgate-"))  # private (0700) for the workers' socket
            role = WorkerRole(0, count, rundir / SOCKET_NAME)
            # Before any thread or event loop: forked followers share the imported code
            # with the leader (addons/infra/prefork.py). They wait for the leader's start.
            for index in range(1, count):
                env = {ENV: WorkerRole(index, count, role.socket, os.getpid()).encode()}
                proc = fork_worker(functools.partial(run_follower, argv), env)
                if proc is not None:
                    forked[index] = proc
    dashboard = start_dashboard(settings, sets, config) if role is None or role.leader else None
    try:
        return _run(settings, sets, role, argv, forked)
    finally:
        for proc in forked.values():  # only if the leader stopped before taking charge of them
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except TimeoutError:
                    proc.kill()
        if dashboard is not None:
            dashboard.terminate()
            try:
                dashboard.wait(10)
            except subprocess.TimeoutExpired:
                dashboard.kill()
        if rundir is not None:
            shutil.rmtree(rundir, ignore_errors=True)


def run_follower(argv: Sequence[str]) -> int:
    """In a forked worker: the same `schoolgate` command line, run as a follower (its
    role is in its environment)."""
    from addons.cli import main

    return main(list(argv))


def _run(settings: Settings, sets: Sequence[str], role: WorkerRole | None = None, argv: Sequence[str] = (),
         forked: dict[int, ForkedProcess] | None = None) -> int:
    async def main() -> int:
        logging.getLogger().setLevel(logging.INFO)
        for noisy in ("hpack", "asyncio", "quic"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        # Children's privacy: mitmproxy logs every connection with the device's address
        # and the site's name at INFO/WARNING. Keep only real failures.
        logging.getLogger("mitmproxy.proxy.server").setLevel(logging.ERROR)
        runtime = Runtime()
        runtime.role = role
        runtime.forked = forked or {}
        if role is not None:
            listen_with_reuse_port()
            if role.follower:
                die_with_parent(role.leader_pid)
                await wait_for_leader(role)  # forked at start: the leader loads the policy first
        try:
            master = await build_master(settings, sets, runtime, argv=argv)
        except exceptions.OptionsError as e:
            print(f"schoolgate: {e}", flush=True)
            return 1
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, master.shutdown)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        await master.run()
        return 0

    return asyncio.run(main())
