from pathlib import Path

import pytest
from cryptography import x509
from mitmproxy import exceptions

from addons.core.settings import Settings
from addons.core.snapshot import Runtime
from addons.runner import build_master, ensure_ca


def test_ca_has_the_school_name(tmp_path: Path) -> None:
    cert = ensure_ca(tmp_path / "ca", "THCS Nguyễn Du")
    name = x509.load_pem_x509_certificate(cert.read_bytes()).subject.rfc4514_string()
    assert "schoolgate CA - THCS Nguyễn Du" in name
    before = cert.read_bytes()
    ensure_ca(tmp_path / "ca", "Another name")
    assert cert.read_bytes() == before  # created once, never replaced


async def test_master_is_configured(settings: Settings) -> None:
    runtime = Runtime()
    master = await build_master(settings, ["listen_port=0", "schoolgate_school_name=THPT A"], runtime,
                                termlog=False)
    assert master.options.connection_strategy == "lazy"
    assert master.options.listen_host == "127.0.0.1" and master.options.listen_port == 0
    assert runtime.settings.school_name == "THPT A" and runtime.snapshot is not None
    assert Path(master.options.confdir, "mitmproxy-ca-cert.pem").exists()


async def test_unknown_set_option_is_an_error_with_a_suggestion(settings: Settings) -> None:
    with pytest.raises(exceptions.OptionsError, match="Unknown option 'schoolgate_languag'. Did you mean 'schoolgate_language'"):
        await build_master(settings, ["schoolgate_languag=en"], Runtime(), termlog=False)
    with pytest.raises(exceptions.OptionsError):
        await build_master(settings, ["listen_port=notanumber"], Runtime(), termlog=False)
