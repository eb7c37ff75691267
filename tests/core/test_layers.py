"""Every name of a connection decided, the strictest wins; ports, tunnels and this machine."""

from __future__ import annotations

from addons.core.layers import (
    Name,
    distinct,
    local_address,
    local_name,
    local_verdict,
    port_verdict,
    strictest,
    tunnel_verdict,
)
from addons.core.model import Action, Reason, Verdict
from tests.core.policy_helpers import compile_ok

POLICY = compile_ok("groups:\n  club: {inherits: upper-secondary, open_ports: [25565/tcp]}\n")
STUDENT, STAFF, CLUB = POLICY.group("primary"), POLICY.group("staff"), POLICY.group("club")


def allow(host: str) -> Verdict:
    return Verdict(Action.ALLOW, Reason.DEFAULT, "primary", matched=host)


def block(host: str, reason: Reason = Reason.CATEGORY) -> Verdict:
    return Verdict(Action.BLOCK, reason, "primary", category="adult", rule="categories.adult: block", matched=host)


def test_all_allowed_is_the_first_names_verdict() -> None:
    a, b = Name("connect", "school.test"), Name("sni", "bank.test")
    assert strictest([(a, allow("school.test")), (b, allow("bank.test"))]) == allow("school.test")


def test_a_blocked_first_name_keeps_its_reason() -> None:
    a, b = Name("connect", "porn.test"), Name("sni", "bank.test")
    assert strictest([(a, block("porn.test")), (b, allow("bank.test"))]).reason is Reason.CATEGORY


def test_a_blocked_other_name_is_a_mismatch_that_says_which() -> None:
    a, b = Name("connect", "school.test"), Name("host", "porn.test")
    v = strictest([(a, allow("school.test")), (b, block("porn.test"))])
    assert v.action is Action.BLOCK and v.reason is Reason.MISMATCH and v.category == "adult"
    assert "the Host header porn.test is not the CONNECT target school.test" in v.rule


def test_a_locked_list_wins_over_every_other_block() -> None:
    a, b = Name("connect", "porn.test"), Name("sni", "abuse.test")
    v = strictest([(a, block("porn.test")), (b, block("abuse.test", Reason.ILLEGAL))])
    assert v.reason is Reason.ILLEGAL


def test_distinct_keeps_the_first_layer_of_each_host() -> None:
    names = distinct([Name("connect", "a.test"), Name("sni", "a.test"), Name("host", "b.test")])
    assert names == [Name("connect", "a.test"), Name("host", "b.test")]


def test_ports() -> None:
    assert port_verdict(STUDENT, 443) is None and port_verdict(STUDENT, 80) is None
    v = port_verdict(STUDENT, 22)
    assert v is not None and v.reason is Reason.TUNNEL and "22/tcp" in v.rule
    assert port_verdict(STUDENT, 443, "udp") is not None  # QUIC is not the web's TCP 443
    assert port_verdict(CLUB, 25565) is None and port_verdict(STUDENT, 25565) is not None
    assert port_verdict(STAFF, 22) is None  # staff keep every port


def test_tunnels_only_to_opened_ports() -> None:
    assert tunnel_verdict(STUDENT, 443) is not None
    assert tunnel_verdict(CLUB, 25565) is None and tunnel_verdict(CLUB, 443) is not None
    assert tunnel_verdict(STAFF, 443) is None


def test_this_machine_by_address_and_by_name() -> None:
    for address in ("127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1", "169.254.169.254", "fe80::1%eth0",
                    "0.0.0.0", "::", "224.0.0.251"):
        assert local_address(address), address
    for address in ("10.0.0.1", "192.168.1.1", "8.8.8.8", "2001:db8::1", "not an address"):
        assert not local_address(address), address
    assert local_address("10.0.0.1", own=frozenset({"10.0.0.1"}))  # the gateway's own LAN address
    for name in ("localhost", "app.localhost", "localhost.localdomain", "ip6-localhost"):
        assert local_name(name)
    assert not local_name("localhost.example.com") and not local_name("mylocalhost")


def test_local_verdict_for_students_only() -> None:
    v = local_verdict(STUDENT, "intranet.test", ["203.0.113.5", "127.0.0.1"])
    assert v is not None and v.reason is Reason.LOCAL and "intranet.test is 127.0.0.1" in v.rule
    assert local_verdict(STUDENT, "localhost", []) is not None
    assert local_verdict(STUDENT, "example.test", ["203.0.113.5"]) is None
    assert local_verdict(STAFF, "localhost", ["127.0.0.1"]) is None
