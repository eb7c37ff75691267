import pytest

from addons.core.gateway import ruleset, student_networks
from tests.core.policy_helpers import compile_ok


def test_student_networks_exclude_staff() -> None:
    p = compile_ok("clients:\n  - {network: 10.1.0.0/16, group: primary}\n  - {network: 10.2.0.0/24, group: staff}\n"
                   "  - {network: 10.3.0.0/24, group: guest}\n  - {network: 'fd00::/64', group: grade-9}\n")
    assert student_networks(p) == (["10.1.0.0/16", "10.3.0.0/24"], ["fd00::/64"])


def test_ruleset() -> None:
    text = ruleset(["eth1", "wlan0"], ["10.1.0.0/16"], ["fd00::/64"], 8080)
    assert 'iifname { "eth1", "wlan0" } ip saddr @students4 tcp dport { 80, 443 } redirect to :8080' in text
    assert "ip6 saddr @students6 udp dport 443 drop" in text and "tcp dport 853 drop" in text
    assert text.startswith("#!/usr/sbin/nft -f") and "delete table inet schoolgate" in text
    plain = ruleset(["eth1"], [], [], 3128)
    assert 'iifname { "eth1" } tcp dport { 80, 443 } redirect to :3128' in plain
    with pytest.raises(ValueError, match="gateway_interfaces"):
        ruleset([], [], [], 8080)
