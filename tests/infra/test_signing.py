import pytest

from addons.infra.signing import SignatureError, generate, public_key_of, sign, verify


def test_sign_and_verify() -> None:
    private, public = generate()
    assert public_key_of(private) == public
    sig = sign(b"list body", private)
    verify(b"list body", sig, public)
    verify(b"list body", sig.encode(), public)
    with pytest.raises(SignatureError, match="does not match"):
        verify(b"list body tampered", sig, public)
    other_private, other_public = generate()
    with pytest.raises(SignatureError, match="does not match"):
        verify(b"list body", sig, other_public)


@pytest.mark.parametrize(
    "sig, key, message",
    [
        ("!!!", None, "signature file is not valid base64"),
        ("AAAA", "short", "public key is not valid base64"),
        ("AAAA", "", "no public key is configured"),
    ],
)
def test_bad_inputs(sig: str, key: str | None, message: str) -> None:
    _, public = generate()
    with pytest.raises(SignatureError, match=message):
        verify(b"x", sig, public if key is None else key)


def test_check_public_key() -> None:
    from addons.infra.signing import check_public_key
    _, public = generate()
    check_public_key(public)
    with pytest.raises(SignatureError, match="not valid base64"):
        check_public_key("not a key!")
    with pytest.raises(SignatureError, match="32 bytes"):
        check_public_key("AAAA")
