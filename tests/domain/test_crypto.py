"""Encryption with key ids, keyed pseudonyms, and the secrets policy of the settings (dev vs production)."""

from __future__ import annotations

import base64
import os
import stat

import pytest
from pydantic import ValidationError

from app.core.config import Settings, ensure_dev_secrets
from app.core.crypto import CryptoError, IdHasher, Keyring, new_keyring_text, parse_keyring
from tests.domain.authkit import TEST_SECRETS

K1 = base64.b64encode(os.urandom(32)).decode()
K2 = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")  # URL-safe, unpadded: also accepted


def test_keyring_forms() -> None:
    assert list(parse_keyring(K1)) == ["k1"]  # one bare key
    ring = parse_keyring(f"k1:{K1}, k2:{K2}")
    assert list(ring) == ["k1", "k2"] and all(len(key) == 32 for key in ring.values())
    for bad in ("", "k1:short", f"k1:{K1},k1:{K2}", f"bad id:{K1}", f"k1:{K1},{K2}", "k1:!!!"):
        with pytest.raises(CryptoError):
            parse_keyring(bad)


def test_encrypt_decrypt_with_associated_data() -> None:
    ring = Keyring.from_text(f"k1:{K1}")
    key_id, data = ring.encrypt(b"template bytes", b"student:1")
    assert key_id == "k1" and b"template bytes" not in data
    assert ring.decrypt(key_id, data, b"student:1") == b"template bytes"
    with pytest.raises(CryptoError):
        ring.decrypt(key_id, data, b"student:2")  # moved to another row
    tampered = bytearray(data)
    tampered[-1] ^= 1
    with pytest.raises(CryptoError):
        ring.decrypt(key_id, bytes(tampered), b"student:1")
    with pytest.raises(CryptoError):
        ring.decrypt(key_id, data[:10], b"student:1")
    with pytest.raises(CryptoError):
        ring.decrypt("k9", data, b"student:1")
    assert ring.encrypt(b"same", b"")[1] != ring.encrypt(b"same", b"")[1]  # fresh nonce each time


def test_rotation_keeps_old_ciphertexts_readable() -> None:
    old = Keyring.from_text(f"k1:{K1}")
    sealed = old.seal(b"totp secret", b"totp:u1")
    rotated = Keyring.from_text(f"k1:{K1},k2:{K2}", active_id="k2")
    assert rotated.open(sealed, b"totp:u1") == b"totp secret"
    assert rotated.sealed_key_id(sealed) == "k1"
    resealed = rotated.reseal(sealed, b"totp:u1")
    assert rotated.sealed_key_id(resealed) == "k2" and rotated.open(resealed, b"totp:u1") == b"totp secret"
    assert rotated.reseal(resealed, b"totp:u1") is resealed
    with pytest.raises(CryptoError):  # k1 left the ring before every row moved: loud, not silent
        Keyring.from_text(f"k2:{K2}").open(sealed, b"totp:u1")
    with pytest.raises(CryptoError):
        Keyring.from_text(f"k1:{K1}", active_id="k3")
    with pytest.raises(CryptoError):
        old.open(b"\x09garbage", b"")


def test_id_hasher_is_keyed_and_stable() -> None:
    one, two = IdHasher(b"a" * 32), IdHasher(b"b" * 32)
    student = "3f1c7c4e-2a4b-4f0e-9a51-0c8c2b7d9e11"
    assert one.hash_id(student) == one.hash_id(student.upper()) and len(one.hash_id(student)) == 64
    assert one.hash_id(student) != two.hash_id(student)
    assert one.derive("audit-chain") != one.derive("other") and one.derive("x") != two.derive("x")
    with pytest.raises(CryptoError):
        IdHasher(b"short")


def test_development_secrets_are_made_by_a_command_and_kept_private(tmp_path) -> None:
    with pytest.raises(ValidationError, match=r"python -m cluster\.local secrets"):
        Settings(data_dir=tmp_path)  # validating settings writes nothing: the run command makes them
    assert not (tmp_path / "secrets").exists()
    ensure_dev_secrets(tmp_path)
    first = Settings(data_dir=tmp_path)
    ensure_dev_secrets(tmp_path)  # a second run keeps them
    second = Settings(data_dir=tmp_path)
    for name in ("secret_key", "template_key", "id_hash_key"):
        value = getattr(first, name).get_secret_value()
        assert value and value == getattr(second, name).get_secret_value()
        path = tmp_path / "secrets" / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "secrets").stat().st_mode) == 0o700
    Keyring.from_text(first.template_key.get_secret_value())
    assert first.secret_key.get_secret_value() not in repr(first)  # SecretStr: never printed
    explicit = Settings(data_dir=tmp_path, secret_key="given-" + "q" * 40)
    assert explicit.secret_key.get_secret_value() == "given-" + "q" * 40  # the environment's, not the file's


STRONG = {**TEST_SECRETS, "template_key": f"k1:{K1}"}


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"secret_key": ""}, "ROLLCALL_SECRET_KEY is unset"),
        ({"secret_key": "changeme"}, "ROLLCALL_SECRET_KEY is unset or a known placeholder"),
        ({"secret_key": "too-short-for-hs256"}, "ROLLCALL_SECRET_KEY is too short"),
        ({"secret_key": "a" * 64}, "ROLLCALL_SECRET_KEY is too short or too repetitive"),
        ({"id_hash_key": "secret"}, "ROLLCALL_ID_HASH_KEY"),
        ({"template_key": ""}, "ROLLCALL_TEMPLATE_KEY is unset"),
        ({"template_key": "k1:" + base64.b64encode(bytes(32)).decode()}, "not random"),
        ({"template_key": "k1:abc"}, "ROLLCALL_TEMPLATE_KEY"),
        ({"argon2_memory_kib": 1024}, "argon2"),
    ],
)
def test_production_refuses_missing_default_or_weak_settings(tmp_path, changes, complaint) -> None:
    values = {**STRONG, "data_dir": tmp_path, "environment": "production", **changes}
    with pytest.raises(ValidationError) as caught:
        Settings(**values)
    message = str(caught.value)
    assert "refusing to start in production" in message or "template_key" in message
    assert complaint in message
    for secret in (STRONG["secret_key"], STRONG["id_hash_key"], K1):
        assert secret not in message  # errors never echo secrets
    assert not (tmp_path / "secrets").exists()  # production never generates


def test_production_starts_with_real_secrets(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, environment="production", **STRONG)
    assert settings.environment == "production"


def test_production_reads_secrets_from_the_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ROLLCALL_ENVIRONMENT", "production")
    monkeypatch.setenv("ROLLCALL_SECRET_KEY", STRONG["secret_key"])
    monkeypatch.setenv("ROLLCALL_TEMPLATE_KEY", K1)  # the cluster Secret's single-key form
    monkeypatch.setenv("ROLLCALL_ID_HASH_KEY", STRONG["id_hash_key"])
    settings = Settings(data_dir=tmp_path)
    assert Keyring.from_text(settings.template_key.get_secret_value()).active_id == "k1"
    monkeypatch.delenv("ROLLCALL_ID_HASH_KEY")
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path)


def test_generated_keyring_text_is_valid() -> None:
    assert list(parse_keyring(new_keyring_text("t7"))) == ["t7"]
