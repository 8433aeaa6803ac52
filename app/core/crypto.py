"""Encryption at rest (AES-256-GCM with key ids) and keyed pseudonyms for student ids.

Why a keyring: face templates and TOTP secrets outlive any one key. Each ciphertext names the key that sealed
it, so a new key can be added (and made active) while old rows still decrypt; re-encrypting them moves them to
the new key at leisure, after which the old key can leave the ring. The ring is configured as
``"k1:<base64 32 bytes>,k2:<base64 32 bytes>"``; one bare base64 key is the ring ``{"k1": key}``.

Why associated data: the caller binds each ciphertext to where it is stored (``b"totp:" + user id``), so a
ciphertext copied into another row does not decrypt there.

Why a keyed HMAC for student ids: logs and the audit trail must not reveal who was checked in, yet the same
student must map to the same pseudonym so events can be correlated. A plain hash of a UUID is not enough
(UUIDs of a school can be enumerated and hashed); an HMAC needs the key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import uuid
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
#: Envelope of ``seal``: version byte, key-id length, key id, nonce, ciphertext with tag.
_ENVELOPE_VERSION = 1


class CryptoError(Exception):
    """A ciphertext that cannot be opened (wrong key, tampered, truncated) or a malformed keyring."""


def decode_key(text: str) -> bytes:
    """A 32-byte key from standard or URL-safe base64 (padding optional): what ``openssl rand -base64 32``
    and ``secrets.token_bytes`` encoders produce."""
    cleaned = text.strip().replace("+", "-").replace("/", "_")
    try:
        key = base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError) as exc:
        raise CryptoError("a key is not valid base64") from exc
    if len(key) != KEY_BYTES:
        raise CryptoError(f"a key must be {KEY_BYTES} bytes, not {len(key)}")
    return key


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii")


def parse_keyring(text: str) -> dict[str, bytes]:
    """``"k1:<b64>,k2:<b64>"`` (or one bare key, named ``k1``) as an ordered ``{id: key}``."""
    entries = [entry.strip() for entry in text.split(",") if entry.strip()]
    if not entries:
        raise CryptoError("the keyring is empty")
    if len(entries) == 1 and ":" not in entries[0]:
        return {"k1": decode_key(entries[0])}
    ring: dict[str, bytes] = {}
    for entry in entries:
        key_id, sep, material = entry.partition(":")
        if not sep or not _KEY_ID.match(key_id):
            raise CryptoError("keyring entries look like '<id>:<base64 key>' with ids of [A-Za-z0-9_-]")
        if key_id in ring:
            raise CryptoError(f"key id {key_id!r} appears twice in the keyring")
        ring[key_id] = decode_key(material)
    return ring


def new_keyring_text(key_id: str = "k1") -> str:
    """A fresh one-key ring, as development mode generates it."""
    return f"{key_id}:{encode_key(os.urandom(KEY_BYTES))}"


@dataclass(frozen=True)
class Keyring:
    """AES-256-GCM over a ring of keys; new ciphertexts use ``active_id``."""

    keys: dict[str, bytes]
    active_id: str

    def __post_init__(self) -> None:
        if self.active_id not in self.keys:
            raise CryptoError(f"the active key id {self.active_id!r} is not in the keyring")

    @classmethod
    def from_text(cls, text: str, active_id: str = "") -> Keyring:
        """The ring as configured; the active key defaults to the first one listed."""
        keys = parse_keyring(text)
        return cls(keys, active_id or next(iter(keys)))

    def encrypt(self, plaintext: bytes, aad: bytes = b"") -> tuple[str, bytes]:
        """``(key id, nonce || ciphertext+tag)`` under the active key (the layout of ``FaceTemplate``)."""
        nonce = os.urandom(NONCE_BYTES)
        return self.active_id, nonce + AESGCM(self.keys[self.active_id]).encrypt(nonce, plaintext, aad)

    def decrypt(self, key_id: str, data: bytes, aad: bytes = b"") -> bytes:
        key = self.keys.get(key_id)
        if key is None:
            raise CryptoError(f"key {key_id!r} is not in the keyring (was it removed too early?)")
        if len(data) < NONCE_BYTES + 16:
            raise CryptoError("the ciphertext is truncated")
        try:
            return AESGCM(key).decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], aad)
        except InvalidTag as exc:
            raise CryptoError("the ciphertext does not authenticate (wrong key, data or aad)") from exc

    def seal(self, plaintext: bytes, aad: bytes = b"") -> bytes:
        """One self-describing blob (key id inside) for columns without a key-id column of their own."""
        key_id, data = self.encrypt(plaintext, aad)
        raw_id = key_id.encode("ascii")
        return bytes([_ENVELOPE_VERSION, len(raw_id)]) + raw_id + data

    def open(self, blob: bytes, aad: bytes = b"") -> bytes:
        key_id, data = self._unpack(blob)
        return self.decrypt(key_id, data, aad)

    def sealed_key_id(self, blob: bytes) -> str:
        """Which key sealed ``blob`` (to find rows a rotation still has to re-encrypt)."""
        return self._unpack(blob)[0]

    def reseal(self, blob: bytes, aad: bytes = b"") -> bytes:
        """``blob`` under the active key (unchanged if it already is)."""
        if self.sealed_key_id(blob) == self.active_id:
            return blob
        return self.seal(self.open(blob, aad), aad)

    @staticmethod
    def _unpack(blob: bytes) -> tuple[str, bytes]:
        if len(blob) < 2 or blob[0] != _ENVELOPE_VERSION or len(blob) < 2 + blob[1]:
            raise CryptoError("not a sealed blob of a known version")
        length = blob[1]
        return blob[2 : 2 + length].decode("ascii", "replace"), blob[2 + length :]


@dataclass(frozen=True)
class IdHasher:
    """Keyed pseudonyms: the same id always gives the same token, which is useless without the key."""

    key: bytes

    def __post_init__(self) -> None:
        if len(self.key) < 32:
            raise CryptoError("the id hash key must be at least 32 bytes")

    def hash_id(self, value: uuid.UUID | str) -> str:
        """64 hex characters (HMAC-SHA256); a UUID and its string form give the same token."""
        text = str(value).lower() if isinstance(value, uuid.UUID) else str(value).strip().lower()
        return hmac.new(self.key, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def derive(self, purpose: str) -> bytes:
        """A separate key for ``purpose`` (the audit chain), so one use never leaks into another."""
        return hmac.new(self.key, b"rollcall/" + purpose.encode("ascii"), hashlib.sha256).digest()
