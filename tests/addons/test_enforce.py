import logging

import pytest
from mitmproxy import http

from addons.core.model import BLOCKED_KEY, VERDICT_KEY, Action, Reason
from addons.core.snapshot import Snapshot
from tests.addons.conftest import Chain


def test_blocks_with_a_short_403(chain: Chain) -> None:
    f = chain.flow("http://bet.test/logo.png", accept="image/png")
    chain.clients.request(f)
    chain.enforce.request(f)
    assert f.response is not None and f.response.status_code == 403
    assert f.response.headers["X-Schoolgate-Reason"] == "category"
    assert f.response.headers["X-Schoolgate-Category"] == "gambling"
    assert f.metadata[BLOCKED_KEY] and f.metadata[VERDICT_KEY].category == "gambling"


def test_allows_and_records_the_verdict(chain: Chain) -> None:
    f = chain.request(chain.flow("http://school.test/"))
    assert f.response is None and f.metadata[VERDICT_KEY].action is Action.ALLOW


def test_fronted_host_header_is_decided_too(chain: Chain) -> None:
    f = chain.request(chain.flow("https://school.test/", host_header="bet.test"))
    verdict = f.metadata[VERDICT_KEY]
    assert f.response is not None and verdict.reason is Reason.MISMATCH and verdict.category == "gambling"
    assert "the Host header bet.test" in verdict.rule


def test_a_host_header_that_does_not_parse_is_a_400_for_everyone(chain: Chain) -> None:
    for client in ("127.0.0.7", "127.0.0.20"):  # grade 7 and staff
        for bad in ("bet.test:", "bet.test:abc", "bet.test:99999", "user@bet.test", "bet test"):
            f = chain.request(chain.flow("http://school.test/", host_header=bad, client=client))
            assert f.response is not None and f.response.status_code == 400, (client, bad)


def test_already_handled_flow_is_left_alone(chain: Chain) -> None:
    f = chain.flow("http://bet.test/")
    f.response = http.Response.make(200, b"served by an earlier addon")
    chain.request(f)
    assert f.response.status_code == 200 and VERDICT_KEY not in f.metadata


def test_fails_closed_when_deciding_raises(chain: Chain, monkeypatch: pytest.MonkeyPatch,
                                            caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("injected failure")

    monkeypatch.setattr(Snapshot, "decide", broken)
    with caplog.at_level(logging.ERROR):
        f = chain.request(chain.flow("http://school.test/", client="127.0.0.7"))
    assert f.response is not None and f.response.status_code == 403
    assert f.metadata[VERDICT_KEY].reason is Reason.ERROR
    assert "Enforcement failed" in caplog.text
    # Staff devices are not cut off by a filter bug (the error is still logged).
    f = chain.request(chain.flow("http://school.test/", client="127.0.0.20"))
    assert f.response is None


def test_fails_closed_without_a_policy(chain: Chain) -> None:
    chain.runtime.snapshot = None
    f = chain.request(chain.flow("http://school.test/"))
    assert f.response is not None and f.metadata[VERDICT_KEY].reason is Reason.ERROR


def test_group_removed_by_a_reload_is_rematched(chain: Chain) -> None:
    f = chain.flow("http://bet.test/", client="127.0.0.7")
    chain.clients.request(f)
    snap = chain.runtime.snapshot
    assert isinstance(snap, Snapshot)
    groups = dict(snap.policy.groups)
    del groups["grade-7"]
    from dataclasses import replace

    chain.runtime.snapshot = Snapshot(replace(snap.policy, groups=groups, clients=()), snap.categories,
                                      snap.lists, snap.tz, "v2")
    chain.enforce.request(f)
    assert f.metadata[VERDICT_KEY].group == "default" and f.response is not None
