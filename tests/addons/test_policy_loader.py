import asyncio
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mitmproxy import exceptions

from addons.core.model import Action, RequestView
from addons.core.snapshot import Runtime
from addons.policy_loader import PolicyLoader
from tests.addons.conftest import Chain


def bump(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # a new mtime even on coarse clocks


def decide(chain: Chain, host: str, group: str) -> Action:
    snap = chain.runtime.snapshot
    assert snap is not None
    return snap.decide(RequestView(host), snap.group(group)).action


async def test_edits_are_applied(chain: Chain) -> None:
    policies = chain.runtime.settings.policies_path
    assert decide(chain, "wiki.test", "grade-7") is Action.ALLOW
    bump(policies / "local.yaml", "groups:\n  grade-7:\n    deny: [wiki.test]\n")
    assert await chain.loader.check_for_changes()
    assert decide(chain, "wiki.test", "grade-7") is Action.BLOCK
    assert not await chain.loader.check_for_changes()  # nothing new


async def test_list_edits_are_applied(chain: Chain) -> None:
    lists = chain.runtime.settings.blocklists_path
    bump(lists / "games" / "domains", "games.test\nnewgame.test\n")
    assert not await chain.loader.check_for_changes()  # the policy did not change; the lists compile
    assert await chain.loader.lists_settled()
    assert decide(chain, "newgame.test", "grade-1") is Action.BLOCK


async def test_a_broken_edit_keeps_the_previous_policy(chain: Chain, caplog: pytest.LogCaptureFixture) -> None:
    policies = chain.runtime.settings.policies_path
    before = chain.runtime.snapshot
    bump(policies / "local.yaml", "groups:\n  grade-7:\n    deny: [wiki.test]\n    categoris: {}\n")
    with caplog.at_level(logging.ERROR):
        assert not await chain.loader.check_for_changes()
    assert chain.runtime.snapshot is before
    assert "local.yaml:4: unknown key 'categoris' in group 'grade-7'" in caplog.text
    assert "previous policy stays active" in caplog.text
    assert chain.loader.reload_failures == 1
    caplog.clear()
    assert not await chain.loader.check_for_changes()  # reported once, not every second
    assert caplog.text == ""
    bump(policies / "local.yaml", "groups:\n  grade-7:\n    deny: [wiki.test]\n")
    assert await chain.loader.check_for_changes()
    assert decide(chain, "wiki.test", "grade-7") is Action.BLOCK and chain.loader.last_error is None


def test_start_up_error_stops_with_the_same_message(chain: Chain, tmp_path: Path) -> None:
    bad = tmp_path / "bad-policies"
    bad.mkdir()
    (bad / "p.yaml").write_text("groups:\n  default: {categories: {gamblin: block}}\n")
    chain.runtime.snapshot = None
    with pytest.raises(exceptions.OptionsError, match=r"p.yaml:2: unknown category 'gamblin'"):
        chain.tctx.configure(chain.settings_addon, schoolgate_policies_dir=str(bad))


def test_a_restart_with_a_broken_file_runs_the_last_accepted_policy(chain: Chain,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    policies = chain.runtime.settings.policies_path
    bump(policies / "local.yaml", "groups:\n  grade-7:\n    deny: [wiki.test]\n")
    chain.tctx.configure(chain.settings_addon, schoolgate_policies_dir=str(policies))  # accepted and saved
    bump(policies / "local.yaml", "groups:\n  grade-7:\n    deny: [wiki.test]\n    categoris: {}\n")
    chain.runtime.snapshot = None  # as at a restart
    with caplog.at_level(logging.ERROR):
        chain.loader.configure({"schoolgate_policies_dir"})
    assert decide(chain, "wiki.test", "grade-7") is Action.BLOCK  # the teacher's last good edit still holds
    assert "starts with the last policy that loaded" in caplog.text
    assert "local.yaml:4: unknown key 'categoris'" in caplog.text
    assert chain.loader.last_error is not None and chain.loader.reload_failures == 1


async def test_a_follower_runs_what_the_leader_accepted_not_the_files(chain: Chain) -> None:
    from addons.infra.workers import WorkerRole

    policies = chain.runtime.settings.policies_path
    bump(policies / "local.yaml", "groups:\n  grade-7:\n    deny: [wiki.test]\n")
    assert await chain.loader.check_for_changes()  # the leader accepts and saves it
    chain.runtime.role = WorkerRole(1, 2, policies / "sock")
    chain.runtime.snapshot = None
    chain.loader.configure({"schoolgate_policies_dir"})
    assert decide(chain, "wiki.test", "grade-7") is Action.BLOCK
    # A broken file on disk: the leader refuses it, so nothing changes for the follower.
    bump(policies / "local.yaml", "groups:\n  grade-7:\n    categoris: {}\n")
    assert not await chain.loader.check_for_changes()
    assert decide(chain, "wiki.test", "grade-7") is Action.BLOCK
    # A good edit the leader has not accepted yet is not applied either ...
    bump(policies / "local.yaml", "groups:\n  grade-7:\n    deny: [other.test]\n")
    assert not await chain.loader.check_for_changes()
    assert decide(chain, "wiki.test", "grade-7") is Action.BLOCK
    # ... until the leader accepts it.
    chain.runtime.role = None
    assert await chain.loader.check_for_changes()
    chain.runtime.role = WorkerRole(1, 2, policies / "sock")
    assert await chain.loader.check_for_changes()
    assert decide(chain, "wiki.test", "grade-7") is Action.ALLOW
    assert decide(chain, "other.test", "grade-7") is Action.BLOCK


@pytest.fixture
def slow_build(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """List indexes compile (in this process) only once the test sets the event, as a
    big list update that takes seconds under load."""
    from addons import policy_loader
    from addons.infra.loader import build_index_file

    release = threading.Event()

    def build(*args: Any) -> Any:
        assert release.wait(30), "the test never let the list index compile"
        return build_index_file(*args)

    monkeypatch.setattr(policy_loader, "build_in_child_process", build)
    yield release
    release.set()  # never leave a thread waiting


async def test_a_policy_edit_does_not_wait_for_the_lists_to_compile(chain: Chain, slow_build: threading.Event) -> None:
    from addons.infra.workers import WorkerRole

    settings = chain.runtime.settings
    follower = Runtime()
    follower.settings, follower.role = settings, WorkerRole(1, 2, settings.policies_path / "sock")
    follower_loader = PolicyLoader(follower)
    follower_loader.configure({"schoolgate_policies_dir"})

    bump(settings.blocklists_path / "games" / "domains", "games.test\nnewgame.test\n")
    bump(settings.policies_path / "local.yaml", "groups:\n  grade-7:\n    deny: [wiki.test]\n")
    assert await asyncio.wait_for(chain.loader.check_for_changes(), 10)
    # The teacher's edit is in force on both workers, with the lists in force until the new ones compile.
    assert await asyncio.wait_for(follower_loader.check_for_changes(), 10)
    for runtime in (chain.runtime, follower):
        snap = runtime.snapshot
        assert snap is not None
        assert snap.decide(RequestView("wiki.test"), snap.group("grade-7")).action is Action.BLOCK
        assert snap.decide(RequestView("newgame.test"), snap.group("grade-1")).action is Action.ALLOW
    assert not await chain.loader.check_for_changes()  # no second load while it compiles
    # Another edit while it compiles is in force at once too.
    bump(settings.policies_path / "local.yaml", "groups:\n  grade-7:\n    deny: [wiki.test, other.test]\n")
    assert await asyncio.wait_for(chain.loader.check_for_changes(), 10)
    assert decide(chain, "other.test", "grade-7") is Action.BLOCK

    slow_build.set()
    assert await asyncio.wait_for(chain.loader.lists_settled(), 30)
    assert await follower_loader.check_for_changes()
    for runtime in (chain.runtime, follower):
        snap = runtime.snapshot
        assert snap is not None
        assert snap.decide(RequestView("newgame.test"), snap.group("grade-1")).action is Action.BLOCK
        assert snap.decide(RequestView("other.test"), snap.group("grade-7")).action is Action.BLOCK
    assert len(list((settings.data_path / "index").glob("local-*.idx"))) == 1  # the old index is removed
    assert not await chain.loader.lists_settled()


async def test_a_list_that_does_not_compile_keeps_the_lists_in_force(chain: Chain,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    settings = chain.runtime.settings
    garbage = "".join(f"this is not a domain {i}\n" for i in range(200))
    bump(settings.blocklists_path / "games" / "domains", "newgame.test\n" + garbage)
    with caplog.at_level(logging.ERROR):
        assert not await chain.loader.check_for_changes()
        assert await chain.loader.lists_settled()
    assert "List change refused; the lists in force stay" in caplog.text
    assert "games/domains" in caplog.text and "could not be read" in caplog.text
    assert decide(chain, "games.test", "grade-1") is Action.BLOCK  # the old list still blocks
    assert decide(chain, "newgame.test", "grade-1") is Action.ALLOW
    assert chain.loader.reload_failures == 1 and "games/domains" in (chain.loader.last_error or "")
    # The teacher's edits still apply, and the list problem stays on show until it is fixed.
    caplog.clear()
    bump(settings.policies_path / "local.yaml", "groups:\n  grade-7:\n    deny: [wiki.test]\n")
    with caplog.at_level(logging.ERROR):
        assert await chain.loader.check_for_changes()
    assert caplog.text == ""
    assert decide(chain, "wiki.test", "grade-7") is Action.BLOCK
    assert chain.loader.last_error is not None and "games/domains" in chain.loader.last_error
    bump(settings.blocklists_path / "games" / "domains", "games.test\nnewgame.test\n")
    await chain.loader.check_for_changes()
    assert await chain.loader.lists_settled()
    assert decide(chain, "newgame.test", "grade-1") is Action.BLOCK
    assert decide(chain, "wiki.test", "grade-7") is Action.BLOCK and chain.loader.last_error is None
