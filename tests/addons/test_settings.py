import pytest
from mitmproxy import exceptions

from addons.core.settings import SETTINGS, Settings
from tests.addons.conftest import Chain


def test_every_setting_is_an_option(chain: Chain) -> None:
    for s in SETTINGS:
        assert s.option_name in chain.tctx.options, s.option_name
    assert chain.runtime.settings.language == "vi"


def test_bad_values_are_refused_with_the_option_name(chain: Chain) -> None:
    with pytest.raises(exceptions.OptionsError, match="unknown time zone 'Mars/Base'"):
        chain.tctx.configure(chain.settings_addon, schoolgate_timezone="Mars/Base")
    with pytest.raises(exceptions.OptionsError, match="must be a number"):
        chain.tctx.configure(chain.settings_addon, schoolgate_reload_interval="soon")
    assert chain.runtime.settings.timezone == "Asia/Ho_Chi_Minh"  # rolled back


def test_settings_follow_options(chain: Chain, settings: Settings) -> None:
    chain.tctx.configure(chain.settings_addon, schoolgate_school_name="THPT Chu Văn An",
                         schoolgate_reload_interval="0.5")
    assert chain.runtime.settings.school_name == "THPT Chu Văn An"
    assert chain.runtime.settings.reload_interval == 0.5
