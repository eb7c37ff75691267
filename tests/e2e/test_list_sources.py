"""List sources through the running proxy: every kind of bad update keeps the
previous lists working; an update while requests flow fails none of them."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from addons.core.settings import Settings
from addons.infra.signing import generate, sign
from tests.e2e.test_proxy import curl
from tests.e2e.test_reload import wait_status
from tests.helpers.listserver import ListServer
from tests.helpers.proxy import run_cli

pytestmark = pytest.mark.e2e


def cli_sets(settings: Settings) -> list[str]:
    return ["--set", f"schoolgate_policies_dir={settings.policies_dir}",
            "--set", f"schoolgate_blocklists_dir={settings.blocklists_dir}",
            "--set", f"schoolgate_data_dir={settings.data_dir}",
            "--set", f"schoolgate_authority_public_key={settings.authority_public_key}"]


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    with ListServer() as s:
        yield s


def test_bad_updates_keep_the_previous_lists(start_proxy, settings: Settings, server: ListServer) -> None:  # type: ignore[no-untyped-def]
    private, public = generate()
    settings = replace(settings, authority_public_key=public)
    good = b"remote-bet.test\n"
    route = server.serve("/gambling.txt", good, etag='"1"')
    csam = b"abuse.test/gallery/\n"
    server.serve("/csam.txt", csam)
    sig = server.serve("/csam.txt.sig", sign(csam, private).encode())
    (Path(settings.blocklists_dir) / "sources.yaml").write_text(
        "sources:\n"
        f"  remote: {{url: '{server.url('/gambling.txt')}', category: gambling, timeout: 2s, max_size: 2000}}\n"
        f"  authority: {{url: '{server.url('/csam.txt')}', format: urls, category: csam, locked: true,"
        " signature: required}\n")
    out = run_cli("lists", "update", *cli_sets(settings))
    assert out.returncode == 0, out.stdout + out.stderr
    proxy = start_proxy("--set", f"schoolgate_authority_public_key={public}")
    assert curl(proxy.url, "http://remote-bet.test/", "127.0.0.7")[0] == 403
    status, headers, _ = curl(proxy.url, "http://abuse.test/gallery/1", "127.0.0.20")  # staff too
    assert status == 403 and headers["x-schoolgate-reason"] == "illegal"

    bad_updates = [
        (dict(status=500), "HTTP 500"),
        (dict(body=b"x.test\n" * 1000), "cap"),
        (dict(delay=3.0), "no answer within 2 s"),
        (dict(body=b"ok.test\n" + b"bad line!\n" * 150), "could not be read"),
        (dict(body=b"#\n"), "no usable entries"),
    ]
    for change, message in bad_updates:
        route.status, route.body, route.delay = 200, good, 0.0
        for k, v in change.items():
            setattr(route, k, v)
        out = run_cli("lists", "update", "remote", *cli_sets(settings))
        assert out.returncode == 1 and message in out.stdout, (change, out.stdout)
        assert curl(proxy.url, "http://remote-bet.test/", "127.0.0.7")[0] == 403  # old list still works
    status = run_cli("lists", "status", *cli_sets(settings)).stdout
    assert "remote" in status and "no usable entries" in status

    # A tampered authority list is refused; the verified one stays.
    server.serve("/csam.txt", csam + b"other.test/x/\n")
    out = run_cli("lists", "update", "authority", *cli_sets(settings))
    assert out.returncode == 1 and "signature check failed" in out.stdout
    sig.status = 200
    status, headers, _ = curl(proxy.url, "http://abuse.test/gallery/2", "127.0.0.20")
    assert status == 403 and headers["x-schoolgate-reason"] == "illegal"
    assert curl(proxy.url, "http://other.test/x/", "127.0.0.20")[0] == 200

    # A good new list is picked up by the running proxy.
    route.status, route.body, route.delay, route.etag = 200, b"remote-bet.test\nnew-bet.test\n", 0.0, '"2"'
    assert run_cli("lists", "update", "remote", *cli_sets(settings)).returncode == 0
    wait_status(proxy.url, "http://new-bet.test/", "127.0.0.7", 403, deadline=10)


def test_update_while_requests_flow(start_proxy, settings: Settings, server: ListServer) -> None:  # type: ignore[no-untyped-def]
    big = b"".join(b"gen%d.bet.test\n" % i for i in range(200_000)) + b"remote-bet.test\n"
    route = server.serve("/gambling.txt", b"remote-bet.test\n", etag='"1"')
    (Path(settings.blocklists_dir) / "sources.yaml").write_text(
        f"sources:\n  remote: {{url: '{server.url('/gambling.txt')}', category: gambling}}\n")
    assert run_cli("lists", "update", *cli_sets(settings)).returncode == 0
    proxy = start_proxy()
    results: list[tuple[str, int]] = []
    stop = threading.Event()

    def traffic() -> None:
        deadline = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < deadline and len(results) < 2000:
            for url, want in (("http://remote-bet.test/", 403), ("http://school.test/", 200)):
                try:
                    results.append((url, curl(proxy.url, url, "127.0.0.7")[0]))
                except AssertionError as e:  # curl itself failed: a failed request
                    results.append((url, -1))
                    print(e)

    t = threading.Thread(target=traffic)
    t.start()
    try:
        time.sleep(1)
        route.body, route.etag = big, '"2"'
        assert run_cli("lists", "update", "remote", *cli_sets(settings)).returncode == 0
        wait_status(proxy.url, "http://gen123456.bet.test/", "127.0.0.3", 403, deadline=30)
        time.sleep(0.5)
    finally:
        stop.set()
        t.join(30)
    assert len(results) > 20
    wrong = [(u, s) for u, s in results if s != (403 if "bet" in u else 200)]
    assert not wrong, wrong[:5]
