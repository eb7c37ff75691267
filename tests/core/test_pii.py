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
        (b"", FORM, ()),
    ],
)
def test_kinds(body: bytes, ctype: str, kinds: tuple[str, ...]) -> None:
    assert find_kinds(body, ctype) == kinds
