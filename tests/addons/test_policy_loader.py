import logging
import os
from pathlib import Path

import pytest
from mitmproxy import exceptions

from addons.core.model import Action, RequestView
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
    assert await chain.loader.check_for_changes()
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
