import pytest

from addons.core.clients import ClientIndex, ClientRange
from addons.core.model import Origin


@pytest.fixture
def index() -> ClientIndex:
    o = Origin("clients.yaml", 1)
    return ClientIndex(
        [
            ClientRange("10.0.0.0/8", "primary", "campus", o),
            ClientRange("10.7.0.0/16", "grade-7", "7", o),
            ClientRange("10.7.1.0/24", "staff", "staff room", o),
            ClientRange("10.7.1.9/32", "guest", "kiosk", o),
            ClientRange("2001:db8::/32", "guest", "v6", o),
            ClientRange("0.0.0.0/0", "upper-secondary", "everything", o),
        ],
        "default",
    )


@pytest.mark.parametrize(
    "address, group",
    [
        ("10.1.2.3", "primary"),
        ("10.7.9.9", "grade-7"),
        ("10.7.1.5", "staff"),
        ("10.7.1.9", "guest"),  # the most specific prefix wins
        ("::ffff:10.7.1.9", "guest"),  # IPv4-mapped IPv6
        ("2001:db8::5", "guest"),
        ("192.168.1.1", "upper-secondary"),
        ("fe80::1%eth0", "default"),
        ("not-an-ip", "default"),
    ],
)
def test_longest_prefix_wins(index: ClientIndex, address: str, group: str) -> None:
    assert index.match(address).group == group


def test_no_ranges_means_default() -> None:
    m = ClientIndex([], "default").match("10.0.0.1")
    assert m.group == "default" and m.range is None
