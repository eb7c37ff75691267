"""Detached Ed25519 signatures for authority lists (and later department reports).

Keys travel as base64 of the raw 32-byte keys; signatures as base64 text.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)


class SignatureError(Exception):
    pass


def generate() -> tuple[str, str]:
    """A new key pair: (private, public), both base64."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(private).decode(), base64.b64encode(public).decode()


def _decode(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(f"the {what} is not valid base64") from None
    if len(raw) != 32:
        raise SignatureError(f"the {what} is not an Ed25519 key (32 bytes)")
    return raw


def check_public_key(public_b64: str) -> None:
    """Raise SignatureError unless `public_b64` is a base64 Ed25519 public key."""
    Ed25519PublicKey.from_public_bytes(_decode(public_b64, "public key"))


def public_key_of(private_b64: str) -> str:
    key = Ed25519PrivateKey.from_private_bytes(_decode(private_b64, "private key"))
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def sign(data: bytes, private_b64: str) -> str:
    key = Ed25519PrivateKey.from_private_bytes(_decode(private_b64, "private key"))
    return base64.b64encode(key.sign(data)).decode() + "\n"


def verify(data: bytes, signature: bytes | str, public_b64: str) -> None:
    """Raise SignatureError unless `signature` is a valid signature of `data`."""
    if not public_b64:
        raise SignatureError("no public key is configured (setting authority_public_key)")
    key = Ed25519PublicKey.from_public_bytes(_decode(public_b64, "public key"))
    text = signature.decode("ascii", "replace") if isinstance(signature, bytes) else signature
    try:
        sig = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the signature file is not valid base64") from None
    try:
        key.verify(sig, data)
    except InvalidSignature:
        raise SignatureError("the signature does not match the list (tampered, or signed with another key)") from None
