import pytest

from addons.core.pii import find_kinds

FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    "body, ctype, kinds",
    [
        (b"name=An&phone=0912345678", FORM, ("phone",)),
        (b"phone=%2B84+912+345+678", FORM, ("phone",)),
        (b"phone=091.234.5678", FORM, ("phone",)),
        (b'{"cccd": "079203012345"}', "application/json", ("cccd",)),
        (b"email=an.nguyen%40gmail.com", FORM, ("email",)),
        ("địa chỉ: số nhà 12 ngõ 5".encode(), "text/plain", ("address",)),
        ("12 đường Lê Lợi".encode(), "text/plain", ("address",)),
        ("phường Bến Nghé, quận 1".encode(), "text/plain", ("address",)),
        (b"phone=0912345678&mail=a%40b.vn", FORM, ("phone", "email")),
        (b"score=12345678901&year=2024", FORM, ()),  # 11 digits: neither a phone nor a CCCD
        (b"q=hello+world", FORM, ()),
        (b'{"token": "a3f0912345678e9", "id": "x079203012345y"}', "application/json", ()),  # inside tokens
        ("sđt:0912345678".encode(), "text/plain", ("phone",)),
        (b"", FORM, ()),
    ],
)
def test_kinds(body: bytes, ctype: str, kinds: tuple[str, ...]) -> None:
    assert find_kinds(body, ctype) == kinds


ADVERSARIAL = {
    "hex": lambda n: ("0123456789abcdef" * (n // 16)),
    "letters": lambda n: "a" * n,
    "digits": lambda n: "1" * n,
    "at-signs": lambda n: "a@" * (n // 2),
    "long-domains": lambda n: ("a@" + "b" * 252) * (n // 254),
    "dotted-domains": lambda n: "a@" + "b." * (n // 2),
    "address-words": lambda n: "ngõ phường " * (n // 11),
    "spaced-digits": lambda n: "0 9 1 " * (n // 6),
}


def _seconds(text: str) -> float:
    import time

    body = text.encode()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        find_kinds(body, "application/json")
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_linear_time_on_hostile_bodies(name: str) -> None:
    """1 MB built to make a backtracking pattern explode costs about what 1 MB of ordinary
    text costs (the old e-mail pattern took 40 s on 128 KB of hex). A ratio, not a time:
    the machine's speed does not matter."""
    size = 1 << 20
    benign = _seconds(("Hôm nay lớp em học bài về môi trường, liên hệ cô giáo chủ nhiệm. " * size)[:size])
    assert _seconds(ADVERSARIAL[name](size)) < 10 * benign + 0.01
