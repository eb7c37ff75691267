import json
from pathlib import Path

import pytest

from addons.cli import main, parse_url
from addons.core.settings import Settings


def sets(settings: Settings) -> list[str]:
    return ["--set", f"schoolgate_policies_dir={settings.policies_dir}",
            "--set", f"schoolgate_blocklists_dir={settings.blocklists_dir}",
            "--set", f"schoolgate_data_dir={settings.data_dir}"]


def test_check_ok(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", *sets(settings)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK: policy ")
    assert "clients:    5 address ranges" in out and "2 locked: csam, illegal" in out
    assert "entries:    10 domains, 2 URLs, 0 image hashes" in out


def test_check_prints_all_errors(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    p = Path(settings.policies_dir)
    (p / "bad.yaml").write_text(
        "groups:\n"
        "  grade-7:\n"
        "    categories: {gamblin: block}\n"
        "    allow: [ok.test]\n"
        "    deny: [ok.test]\n"
        "schedules:\n"
        "  lunch: {days: mon-fri, from: '12:00', to: '12:00'}\n"
        "clients:\n"
        "  - {network: 10.0.0.0/24, group: grade-7}\n"
        "  - {network: 10.0.0.0/24, group: grade-8}\n"
        "  - {network: 10.0.0.300, group: grade-8}\n"
    )
    (p / "broken.yaml").write_text("groups: [\n")
    assert main(["check", *sets(settings)]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    bad = str(p / "bad.yaml")
    assert f"{bad}:3: unknown category 'gamblin'. Fix: did you mean 'gambling'?; categories are defined in blocklists/categories.yaml" in lines
    assert any(line.startswith(f"{bad}:5: 'ok.test' is both allowed and denied") for line in lines)
    assert any(line.startswith(f"{bad}:7: impossible time window in schedule 'lunch'") for line in lines)
    assert any(line.startswith(f"{bad}:10: 10.0.0.0/24 conflicts with the entry at {bad}:9") for line in lines)
    assert any(line.startswith(f"{bad}:11: '10.0.0.300' is not an IP address") for line in lines)
    assert any(line.startswith(f"{p / 'broken.yaml'}:2: YAML syntax error") for line in lines)
    assert lines[-1] == "6 errors found; nothing was changed."


def test_check_refuses_mitmproxy_options(settings: Settings) -> None:
    assert main(["check", *sets(settings), "--set", "listen_port=9"]) == 0
    assert main(["check", *sets(settings), "--set", "mode=transparent"]) == 1


def test_settings_file_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "s.yaml"
    f.write_text("timezone: Asia/Hanoi_City\n")
    with pytest.raises(SystemExit) as e:
        main(["check", "--config", str(f)])
    assert e.value.code == 1
    assert "s.yaml:1: unknown time zone 'Asia/Hanoi_City'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["check", "--config", str(tmp_path / "missing.yaml")])
    assert "settings file not found" in capsys.readouterr().err


def test_default_settings_file_is_read(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    Path("schoolgate.yaml").write_text(
        f"policies_dir: {settings.policies_dir}\nblocklists_dir: {settings.blocklists_dir}\n"
        f"data_dir: {settings.data_dir}\n")
    assert main(["check"]) == 0
    assert "clients:    5 address ranges" in capsys.readouterr().out


def test_explain_text(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "http://www.bet.test/x", "--client", "127.0.0.7", *sets(settings)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("http://www.bet.test/x → BLOCK (category)")
    assert "group:    grade-7 (Lớp 7 / Grade 7, grade 7, level lower-secondary)" in out
    assert "client:   127.0.0.7 in range Lớp 7A" in out
    assert "category: gambling (Cờ bạc, cá độ / Gambling and betting)" in out
    assert "lower-secondary.yaml:8" in out


def test_explain_locked_says_so(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "locked.test", "--group", "staff", "--json", *sets(settings)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["reason"] == "illegal" and data["locked"] is True and data["group"] == "staff"
    assert main(["explain", "locked.test", "--group", "staff", *sets(settings)]) == 0
    assert "[locked: no policy can unblock it]" in capsys.readouterr().out


@pytest.mark.parametrize(
    "at, action, reason",
    [("2026-11-23T09:00", "block", "schedule"), ("2026-11-23T19:00", "allow", "default"),
     ("2026-11-23T02:00+00:00", "block", "schedule")],
)
def test_explain_at(settings: Settings, capsys: pytest.CaptureFixture[str], at: str, action: str,
                    reason: str) -> None:
    assert main(["explain", "https://games.test/", "--grade", "11", "--at", at, "--json", *sets(settings)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["action"], data["reason"], data["grade"]) == (action, reason, 11)
    assert {"action", "reason", "category", "group", "grade", "rule"} <= set(data)


def test_explain_errors(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "x.test", "--group", "nobody", *sets(settings)]) == 2
    assert "unknown group 'nobody'" in capsys.readouterr().err
    assert main(["explain", "x.test", "--grade", "3", "--at", "monday", *sets(settings)]) == 2
    assert "is not an ISO time" in capsys.readouterr().err
    assert main(["explain", "ftp://x.test/", "--grade", "3", *sets(settings)]) == 2


def test_parse_url() -> None:
    r = parse_url("HTTPS://Thư-Viện.vn:8443/Sách?q=1")
    assert r.scheme == "https" and r.port == 8443 and r.path == "/Sách" and r.query == "q=1"
    assert r.host.startswith("xn--")
    assert parse_url("example.com").url == "http://example.com/"


def test_repeated_schoolgate_settings_keep_the_last_value() -> None:
    from addons.cli import last_wins

    assert last_wins(["schoolgate_language=en", "mode=regular", "mode=socks5", "schoolgate_language=vi"]) == [
        "mode=regular", "mode=socks5", "schoolgate_language=vi"]



def test_user_commands(settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("a very long password\n"))
    assert main(["user", "add", "co-lan", "--role", "teacher", "--groups", "grade-7,class-7a",
                 "--safeguarding", "--password-stdin", *sets(settings)]) == 0
    assert "User co-lan (teacher: class-7a, grade-7) created." in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["user", "add", "x1", "--role", "admin", "--password-stdin", *sets(settings)]) == 1
    assert main(["user", "list", *sets(settings)]) == 0
    assert "co-lan" in capsys.readouterr().out
    assert main(["user", "disable", "co-lan", *sets(settings)]) == 0


def test_run_profile_home_is_a_setting() -> None:
    from addons.cli import build_parser, resolve_settings

    args = build_parser().parse_args(["run", "--profile", "home", "--set", "schoolgate_dashboard_port=9000"])
    args.set = [*args.set, f"schoolgate_profile={args.profile}"]  # as cmd_run does
    settings = resolve_settings(args)
    assert (settings.profile, settings.listen_host, settings.dashboard_host, settings.dashboard_port) == (
        "home", "0.0.0.0", "0.0.0.0", 9000)
    assert build_parser().parse_args(["run"]).profile is None  # `make run`: the school defaults
