"""`schoolgate export status|push` as the school's IT person uses it."""

from __future__ import annotations

import json
import socket
import time

import pytest

from addons.cli import main
from addons.core.settings import Settings
from addons.infra import export_cli
from tests.addons.test_cli import sets


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_status_without_a_department(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "status", *sets(settings)]) == 0
    out = capsys.readouterr().out
    assert "(not set: nothing is exported; set department_url)" in out
    assert "give it to the department to register the school" in out
    assert main(["export", "push", *sets(settings)]) == 1
    assert "department_url is not set. Fix: set department_url and school_id" in capsys.readouterr().err


def test_push_to_an_unreachable_department_keeps_the_export(settings: Settings, capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # Half past the hour: in the first minute of an hour the hour before is not yet
    # settled (export.SETTLE_SECONDS) and nothing would be queued.
    now = time.time() // 3600 * 3600 + 1800
    monkeypatch.setattr(export_cli.time, "time", lambda: now)
    args = [*sets(settings), "--set", f"schoolgate_department_url=https://127.0.0.1:{closed_port()}",
            "--set", "schoolgate_school_id=79-TH-0001"]
    assert main(["export", "push", *args]) == 1
    out = capsys.readouterr().out
    assert "queued 1 exports; delivered 0; failed 1" in out
    assert "cannot reach the department at https://127.0.0.1:" in out
    assert main(["export", "status", "--json", *args]) == 0
    st = json.loads(capsys.readouterr().out)
    assert st["pending"] == {"department_export": 1} and st["delivered"] == 0 and st["failures"] == 1
    assert st["school_id"] == "79-TH-0001" and len(st["public_key"]) == 44
    assert main(["export", "status", *args]) == 0
    out = capsys.readouterr().out
    assert "waiting:      1 department exports (oldest from" in out and "last error:   cannot reach" in out
    # A second push queues nothing new for the same hour and tries again at once.
    assert main(["export", "push", *args]) == 1
    assert "queued 0 exports; delivered 0; failed 1" in capsys.readouterr().out


def test_department_command_runs_the_department_module(capsys: pytest.CaptureFixture[str]) -> None:
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "addons.cli", "department", "--help"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and "register" in r.stdout and "serve" in r.stdout
