"""Hot reload through the running proxy: edits apply within 2 seconds, broken
edits are refused with file and line while the previous policy keeps working."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from addons.core.settings import Settings
from tests.e2e.test_proxy import curl

pytestmark = pytest.mark.e2e


def wait_status(proxy_url: str, url: str, source: str, want: int, deadline: float) -> float:
    start = time.monotonic()
    while True:
        status = curl(proxy_url, url, source)[0]
        if status == want:
            return time.monotonic() - start
        if time.monotonic() - start > deadline:
            raise AssertionError(f"{url} still answers {status}, expected {want}")
        time.sleep(0.05)


def wait_everywhere(proxy_url: str, url: str, source: str, want: int, deadline: float,
                    hold: float = 1.5) -> None:
    """Until every proxy worker answers `want`: all answers of the last `hold` seconds
    did (each worker reads a change within a second); fails after `deadline` seconds."""
    start = time.monotonic()
    since = None
    while True:
        status = curl(proxy_url, url, source)[0]
        now = time.monotonic()
        if status != want:
            since = None
        elif since is None:
            since = now
        elif now - since >= hold:
            return
        if now - start > deadline:
            raise AssertionError(f"{url} still answers {status} on some worker, expected {want} from all")
        time.sleep(0.05)


def test_edit_applies_within_two_seconds_and_bad_edit_is_refused(start_proxy, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    # The product's default reload interval (1 s), not a test-only speed-up.
    proxy = start_proxy(settings=replace(settings, reload_interval=1.0))
    policy = Path(settings.policies_dir) / "teacher-grade-7.yaml"
    assert curl(proxy.url, "http://wiki.test/", "127.0.0.7")[0] == 200

    policy.write_text("groups:\n  grade-7:\n    deny: [wiki.test]\n", encoding="utf-8")
    t0 = time.monotonic()
    wait_status(proxy.url, "http://wiki.test/", "127.0.0.7", 403, deadline=5)
    assert time.monotonic() - t0 < 2.0
    assert curl(proxy.url, "http://wiki.test/", "127.0.0.3")[0] == 200  # grade 3 unchanged

    mark = len(proxy.lines)
    policy.write_text("groups:\n  grade-7:\n    deny: [wiki.test]\n    categoris: {games: allow}\n",
                      encoding="utf-8")
    line = proxy.wait_for_log("unknown key 'categoris'", timeout=5, start=mark)
    assert "teacher-grade-7.yaml:4:" in line
    assert any("previous policy stays active" in x for x in proxy.lines[mark:])
    # The previous policy keeps running.
    assert curl(proxy.url, "http://wiki.test/", "127.0.0.7")[0] == 403
    assert proxy.proc is not None and proxy.proc.poll() is None


def test_list_edit_applies(start_proxy, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    proxy = start_proxy()
    assert curl(proxy.url, "http://newcasino.test/", "127.0.0.7")[0] == 200
    (Path(settings.blocklists_dir) / "gambling" / "domains").write_text("bet.test\nnewcasino.test\n")
    wait_status(proxy.url, "http://newcasino.test/", "127.0.0.7", 403, deadline=5)


def test_start_up_error_stops_the_process(settings: Settings) -> None:
    from tests.helpers.proxy import run_cli

    (Path(settings.policies_dir) / "bad.yaml").write_text("groups:\n  grade-7: {allow: ['not a domain']}\n")
    out = run_cli("run", "--set", "listen_port=0",
                  "--set", f"schoolgate_policies_dir={settings.policies_dir}",
                  "--set", f"schoolgate_blocklists_dir={settings.blocklists_dir}",
                  "--set", f"schoolgate_data_dir={settings.data_dir}", timeout=60)
    assert out.returncode == 1
    assert "bad.yaml:2: 'not a domain' in allow is not a domain" in out.stdout + out.stderr


def test_unknown_set_option_stops_the_process(settings: Settings) -> None:
    from tests.helpers.proxy import run_cli

    out = run_cli("run", "--set", "listen_prot=0", "--set", f"schoolgate_data_dir={settings.data_dir}")
    assert out.returncode == 1
    assert "Unknown option 'listen_prot'. Did you mean 'listen_port'?" in out.stdout + out.stderr
