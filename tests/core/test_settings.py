from dataclasses import fields
from pathlib import Path

import pytest

from addons.core.errors import Collector
from addons.core.settings import BY_NAME, SETTINGS, Settings, from_yaml, validate
from addons.core.yamlsrc import parse


def test_table_and_dataclass_agree() -> None:
    assert [f.name for f in fields(Settings)] == [s.name for s in SETTINGS]
    for f in fields(Settings):
        assert f.default == BY_NAME[f.name].default, f.name


def test_defaults() -> None:
    s = Settings()
    assert (s.listen_host, s.listen_port, s.timezone, s.language) == ("127.0.0.1", 8080, "Asia/Ho_Chi_Minh", "vi")
    assert s.policies_path.name == "policies" and s.blocklists_path.name == "blocklists"
    assert s.ca_path == s.data_path / "ca"
    opts = s.as_options()
    assert opts["listen_port"] == 8080 and opts["schoolgate_reload_interval"] == "1.0"


def test_data_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert Settings().data_path == tmp_path / "schoolgate"
    assert Settings(data_dir="/srv/sg").data_path == Path("/srv/sg")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("listen_prot: 9", "s.yaml:1: unknown setting 'listen_prot'. Fix: did you mean 'listen_port'?"),
        ("listen_port: abc", "s.yaml:1: setting 'listen_port' must be a whole number, not 'abc'"),
        ("listen_port: 70000", "s.yaml:1: listen_port 70000 is not a TCP port"),
        ("language: fr", "s.yaml:1: setting 'language' must be one of vi, en"),
        ("timezone: Mars/Base", "s.yaml:1: unknown time zone 'Mars/Base'"),
        ("reload_interval: 0", "reload_interval must be above 0"),
        ("reload_interval: soon", "setting 'reload_interval' must be a number"),
        ("- a list", "the settings file must be a mapping"),
        ("department_url: http://so.example\nschool_id: S1", "s.yaml:1: department_url must start with https://"),
        ("department_url: https://so.example", "department_url is set but school_id is empty"),
        ("school_id: 'trường 1'", "school_id"),
        ("export_period_hours: 5", "s.yaml:1: export_period_hours must divide a day"),
        ("export_min_cell: 0", "export_min_cell"),
        ("export_retry_seconds: 100\nexport_retry_max_seconds: 10", "export_retry_seconds must be above 0"),
        ("department_port: 99999", "department_port 99999 is not a TCP port"),
    ],
)
def test_errors(text: str, expected: str) -> None:
    c = Collector()
    data, errs = parse(text, "s.yaml")
    assert not errs
    from_yaml(data, "s.yaml", c)
    assert any(expected in str(e) for e in c.errors), [str(e) for e in c.errors]


def test_values_are_coerced() -> None:
    c = Collector()
    s = validate({"listen_port": "9090", "reload_interval": "0.5", "school_name": "THCS Lê Lợi"}, "--set", {}, c)
    assert not c.items and s.listen_port == 9090 and s.reload_interval == 0.5
    assert from_yaml(None, "s.yaml", c) == Settings()


def test_home_profile_defaults_and_limits() -> None:
    from addons.core.errors import Collector
    from addons.core.settings import validate

    errors = Collector()
    s = validate({"profile": "home", "listen_host": "192.168.1.1"}, "schoolgate.yaml", {}, errors)
    assert (s.listen_host, s.dashboard_host, errors.items) == ("192.168.1.1", "0.0.0.0", [])
    validate({"profile": "home", "department_url": "https://so.example", "school_id": "x"}, "s.yaml",
             {"department_url": 3}, errors)
    assert [str(e) for e in errors.errors] == [
        "s.yaml:3: the home profile exports nothing to the department. Fix: remove department_url "
        "(or run the school profile)"]
    assert validate({}, "s", {}, Collector()).profile == "school"
