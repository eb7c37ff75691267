import pytest

from addons.core.domains import HostError, candidates, domain_hash, ip_literal, normalise_host, registrable_domain


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("WWW.Example.COM.", "www.example.com"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("BÜCHER.de", "xn--bcher-kva.de"),
        ("thư-viện.vn", normalise_host("thư-viện.vn".upper())),
        ("[2001:DB8::1]", "2001:db8::1"),
        ("::ffff:10.0.0.1", "10.0.0.1"),
        ("010.1.2.3.example", "010.1.2.3.example"),
        ("192.168.1.1", "192.168.1.1"),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise_host(raw) == expected


@pytest.mark.parametrize("raw", ["", "a..b", "bad host.com", "x" * 64 + ".com", "a/b.com"])
def test_normalise_rejects(raw: str) -> None:
    with pytest.raises(HostError):
        normalise_host(raw)


@pytest.mark.parametrize(
    "host, expected",
    [
        ("a.b.example.com", ("a.b.example.com", "b.example.com", "example.com")),
        ("example.co.uk", ("example.co.uk",)),
        ("www.thpt.hcm.edu.vn", ("www.thpt.hcm.edu.vn", "thpt.hcm.edu.vn", "hcm.edu.vn")),
        # private suffixes: a site under github.io is its own registrable domain
        ("someone.github.io", ("someone.github.io",)),
        ("www.someone.github.io", ("www.someone.github.io", "someone.github.io")),
        ("github.io", ("github.io",)),
        ("b.blogspot.com", ("b.blogspot.com",)),
        # a bare suffix never walks up to the TLD
        ("com", ("com",)),
        # unknown TLDs (.test) behave as if they were suffixes
        ("www.school.test", ("www.school.test", "school.test")),
        ("localhost", ("localhost",)),
        ("10.0.0.1", ("10.0.0.1",)),
    ],
)
def test_candidates(host: str, expected: tuple[str, ...]) -> None:
    assert candidates(host) == expected


def test_registrable_and_ip() -> None:
    assert registrable_domain("a.b.example.com") == "example.com"
    assert ip_literal("example.com") is None and ip_literal("1.2.3.4") == "1.2.3.4"
    assert domain_hash("example.com") == domain_hash("example.com") != domain_hash("example.org")
