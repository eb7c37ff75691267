from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from addons.core.settings import Settings
from tests.helpers.postgres import PostgresServer, postgres_available
from tests.helpers.proxy import ProxyProcess
from tests.helpers.trees import make_tree
from tests.helpers.upstream import Upstream


@pytest.fixture(autouse=True)
def _isolated_data_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing a test runs may write into the real ~/.local/share."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg")))


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    return make_tree(tmp_path)


@pytest.fixture
def settings(tree: tuple[Path, Path], tmp_path: Path) -> Settings:
    policies, blocklists = tree
    return Settings(policies_dir=str(policies), blocklists_dir=str(blocklists),
                    data_dir=str(tmp_path / "data"), reload_interval=0.2, metrics_port=0,
                    incident_batch_seconds=0.1, scan_workers=0, image_hash_workers=0, dashboard_port=0)


@pytest.fixture(scope="session")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    with Upstream(tmp_path_factory.mktemp("upstream")) as up:
        yield up


def proxy_args(settings: Settings, upstream: Upstream) -> list[str]:
    return [
        "--set", "listen_port=0",
        "--set", f"mode=upstream:{upstream.url}",
        "--set", "ssl_insecure=true",
        "--set", f"schoolgate_policies_dir={settings.policies_dir}",
        "--set", f"schoolgate_blocklists_dir={settings.blocklists_dir}",
        "--set", f"schoolgate_data_dir={settings.data_dir}",
        "--set", f"schoolgate_reload_interval={settings.reload_interval}",
        "--set", f"schoolgate_metrics_port={settings.metrics_port}",
        "--set", f"schoolgate_incident_batch_seconds={settings.incident_batch_seconds}",
        "--set", f"schoolgate_dashboard_port={settings.dashboard_port}",
    ]


@pytest.fixture
def start_proxy(upstream: Upstream, settings: Settings, request: pytest.FixtureRequest
                ) -> Iterator[Callable[..., ProxyProcess]]:
    """Start `schoolgate run` against the test tree; the upstream answers every host."""
    started: list[ProxyProcess] = []

    def start(*extra: str, settings: Settings = settings) -> ProxyProcess:
        proc = ProxyProcess(proxy_args(settings, upstream) + list(extra)).start()
        started.append(proc)
        return proc

    yield start
    failed = getattr(request.node, "rep_call", None)
    for proc in started:
        proc.stop()
        if failed is not None and failed.failed:
            print(f"--- schoolgate log ---\n{proc.log}")


@pytest.fixture(scope="module")
def shared_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A test tree shared by the read-only tests of one module."""
    base = tmp_path_factory.mktemp("tree")
    policies, blocklists = make_tree(base)
    return Settings(policies_dir=str(policies), blocklists_dir=str(blocklists),
                    data_dir=str(base / "data"), reload_interval=0.2, metrics_port=0,
                    incident_batch_seconds=0.1, dashboard_port=0)


@pytest.fixture(scope="module")
def shared_proxy(shared_settings: Settings, upstream: Upstream) -> Iterator[ProxyProcess]:
    proc = ProxyProcess(proxy_args(shared_settings, upstream)).start()
    yield proc
    if proc.stop() not in (0, None):
        print(f"--- schoolgate log ---\n{proc.log}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A throw-away PostgreSQL server (Debian's package) for the session, started on first use."""
    reason = postgres_available()
    if reason:
        pytest.fail(reason)
    with PostgresServer() as pg:
        yield pg
