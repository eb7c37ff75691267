import json
from pathlib import Path

from addons.cli import main
from addons.core.settings import Settings
from tests.addons.test_cli import sets
from tests.helpers.listserver import ListServer


def test_update_status_sign_keygen(settings: Settings, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    key = tmp_path / "dept.key"
    assert main(["lists", "keygen", "--out", str(key)]) == 0
    public = capsys.readouterr().out.split("authority_public_key): ")[1].strip()
    assert main(["lists", "keygen", "--out", str(key)]) == 1  # never overwrites a key
    body = tmp_path / "csam.txt"
    body.write_bytes(b"abuse.test/gallery/\n")
    assert main(["lists", "sign", str(body), "--key", str(key)]) == 0
    capsys.readouterr()
    with ListServer() as server:
        server.serve("/csam.txt", body.read_bytes())
        server.serve("/csam.txt.sig", (tmp_path / "csam.txt.sig").read_bytes())
        server.serve("/bad.txt", b"", status=503)
        (Path(settings.blocklists_dir) / "sources.yaml").write_text(
            f"sources:\n"
            f"  authority: {{url: '{server.url('/csam.txt')}', format: urls, category: csam, locked: true,"
            f" signature: required}}\n"
            f"  broken: {{url: '{server.url('/bad.txt')}', category: gambling}}\n")
        args = sets(settings) + ["--set", f"schoolgate_authority_public_key={public}"]
        assert main(["lists", "update", *args]) == 1
        out = capsys.readouterr().out
        assert "authority: ok, 1 entries" in out
        assert "broken: FAILED: the server answered HTTP 503 Service Unavailable (the previous copy stays in use)" in out
        assert main(["lists", "status", *args]) == 0
        table = capsys.readouterr().out
        assert "authority" in table and "HTTP 503" in table
        assert main(["lists", "status", "--json", *args]) == 0
        data = {s["name"]: s for s in json.loads(capsys.readouterr().out)}
        assert data["authority"]["entries"] == 1 and data["broken"]["last_error"].startswith("the server answered")
        assert main(["lists", "update", "nope", *args]) == 2
        assert main(["explain", "abuse.test/gallery/x", "--group", "staff", "--json", *args]) == 0
        assert json.loads(capsys.readouterr().out.splitlines()[-1])["reason"] == "illegal"
