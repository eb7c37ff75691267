from pathlib import Path

from dashboard.server import main


def test_bad_settings_stop_with_an_error(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "s.yaml"
    f.write_text("dashboard_port: 99999\n")
    assert main(["--config", str(f)]) == 1
    assert "dashboard_port 99999 is not a TCP port" in capsys.readouterr().err
