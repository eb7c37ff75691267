"""`open_ports`: ports beyond the web that the IT admin opens for one group."""

from __future__ import annotations

from tests.core.policy_helpers import compile_ok, errors_of


def test_open_ports_parse_and_inherit() -> None:
    policy = compile_ok("groups:\n  club: {inherits: upper-secondary, open_ports: [25565/tcp, 19132/udp, "
                        "\"27015-27030/udp\", 22]}\n  club-b: {inherits: club}\n  club-c: {inherits: club, "
                        "open_ports: []}\n")
    club = policy.group("club").open_ports
    assert club.allows("tcp", 25565) and club.allows("udp", 19132) and club.allows("udp", 27020)
    assert club.allows("tcp", 22) and not club.allows("udp", 22) and not club.allows("tcp", 19132)
    assert str(club) == "25565/tcp, 19132/udp, 27015-27030/udp, 22/tcp"
    assert club.origin is not None and club.origin.line == 2
    assert policy.group("club-b").open_ports == club  # inherited
    assert not policy.group("club-c").open_ports  # its own list replaces the parent's
    assert not policy.group("primary").open_ports


def test_bad_entries_name_their_line_and_the_fix() -> None:
    errors = errors_of("groups:\n  club:\n    open_ports:\n      - 25565/tcp\n      - ssh\n      - 0/tcp\n"
                       "      - 1-5000/udp\n      - 443\n      - 70000\n")
    assert any("p1.yaml:5" in e and "'ssh'" in e and "25565/tcp" in e for e in errors), errors
    assert any("p1.yaml:6" in e and "out of range" in e for e in errors)
    assert any("p1.yaml:7" in e and "opens 5000 ports" in e for e in errors)
    assert any("p1.yaml:8" in e and "always open through the proxy" in e for e in errors)
    assert any("p1.yaml:9" in e and "out of range" in e for e in errors)
    assert any("must be a list" in e for e in errors_of("groups:\n  club: {open_ports: 22}\n"))
