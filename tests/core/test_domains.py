import pytest

from addons.core.domains import (
    HostError,
    candidates,
    domain_hash,
    ip_literal,
    is_public_suffix,
    normalise_host,
    registrable_domain,
)


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
        ("example.co.uk", ("example.co.uk", "co.uk")),
        ("www.thpt.hcm.edu.vn", ("www.thpt.hcm.edu.vn", "thpt.hcm.edu.vn", "hcm.edu.vn", "edu.vn")),
        ("someone.github.io", ("someone.github.io", "github.io")),
        ("com", ("com",)),
        ("localhost", ("localhost",)),
        ("10.0.0.1", ("10.0.0.1",)),
        ("2001:db8::1", ("2001:db8::1",)),
    ],
)
def test_candidates(host: str, expected: tuple[str, ...]) -> None:
    assert candidates(host) == expected


@pytest.mark.parametrize(
    "name, suffix",
    [
        ("co.uk", True), ("github.io", True), ("blogspot.com", True), ("com", True), ("edu.vn", True),
        ("someone.github.io", False), ("example.co.uk", False), ("hcm.edu.vn", False),
        ("a.bd", True),  # *.bd
        ("www.ck", False),  # !www.ck
        ("test", True), ("foo.test", False), ("10.0.0.1", False),
    ],
)
def test_public_suffixes(name: str, suffix: bool) -> None:
    assert is_public_suffix(name) is suffix


@pytest.mark.parametrize(
    "host, registrable",
    [("a.b.example.com", "example.com"), ("x.city.kawasaki.jp", "city.kawasaki.jp"), ("b.a.bd", "b.a.bd"),
     ("github.io", ""), ("www.school.test", "school.test"), ("www.thpt.hcm.edu.vn", "hcm.edu.vn")],
)
def test_registrable(host: str, registrable: str) -> None:
    assert registrable_domain(host) == registrable


def test_registrable_and_ip() -> None:
    assert registrable_domain("a.b.example.com") == "example.com"
    assert ip_literal("example.com") is None and ip_literal("1.2.3.4") == "1.2.3.4"
    assert domain_hash("example.com") == domain_hash("example.com") != domain_hash("example.org")
