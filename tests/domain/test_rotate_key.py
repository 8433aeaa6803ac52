"""Key rotation: every sealed column is re-encrypted under the new active key, in batches, idempotently; rows
under either key stay readable meanwhile; afterwards the old key can leave the ring. Also through the CLI."""

from __future__ import annotations

import json
import uuid

import numpy as np
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from app.core.crypto import Keyring, new_keyring_text
from app.core.enums import Role
from app.db.tables import FaceTemplate, NotificationContact, ReviewFrame, School, Student, User
from app.jobs.__main__ import cli
from app.services.biometrics.stores import TemplateCipher
from app.services.checkin import review_frames
from app.services.identity.principal import Principal
from app.services.operations import keyrotation
from tests.domain.authkit import TEST_SECRETS

OLD = new_keyring_text("k1")
NEW = new_keyring_text("k2")


def _seed(db: Session, ring: Keyring, templates: int = 5) -> dict[str, object]:
    school = School(name=f"Rotation {uuid.uuid4().hex[:6]}")
    db.add(school)
    db.flush()
    student = Student(
        school_id=school.id, student_number="R1", first_name="R", last_name="O", display_name="R"
    )
    db.add(student)
    db.flush()
    cipher = TemplateCipher(ring)
    vectors = np.random.default_rng(1).normal(size=(templates, 128)).astype(np.float32)
    for vector in vectors:
        key_id, data = cipher.seal(student.id, "model-a", vector)
        crop = np.full((112, 112, 3), 128, np.uint8)  # sealed bytes, whatever they show
        db.add(
            FaceTemplate(
                student_id=student.id,
                school_id=school.id,
                model_id="model-a",
                key_id=key_id,
                ciphertext=data,
                crop_sealed=cipher.seal_crop(student.id, crop),
            )
        )
    user = User(school_id=school.id, email="r@example.org", full_name="R", role=Role.admin, password_hash="x")
    db.add(user)
    db.flush()
    user.totp_secret_enc = ring.seal(b"TOTPSECRET", b"totp:" + user.id.bytes)
    contact = NotificationContact(school_id=school.id, name="SIS", webhook_url="https://sis.example.org/hook")
    db.add(contact)
    db.flush()
    contact.webhook_secret_enc = ring.seal(b"whsec", b"webhook:" + contact.id.bytes)
    kiosk = Principal("kiosk", uuid.uuid4(), school.id, room="R1")
    frame = review_frames.keep_frame(db, ring, kiosk, b"\xff\xd8\xffjpeg", None, "unknown", 24)
    db.commit()
    return {"student": student, "user": user, "contact": contact, "frame": frame, "vectors": vectors}


def _check_readable(db: Session, ring: Keyring, seeded: dict[str, object]) -> None:
    db.expire_all()
    cipher = TemplateCipher(ring)
    stored = sorted(db.query(FaceTemplate).all(), key=lambda t: t.created_at)
    opened = np.stack([cipher.open(template) for template in stored])
    assert np.allclose(np.sort(opened, axis=0), np.sort(seeded["vectors"], axis=0))
    assert all(np.all(cipher.open_crop(template) == 128) for template in stored)
    user = db.get(User, seeded["user"].id)
    assert ring.open(user.totp_secret_enc, b"totp:" + user.id.bytes) == b"TOTPSECRET"
    contact = db.get(NotificationContact, seeded["contact"].id)
    assert ring.open(contact.webhook_secret_enc, b"webhook:" + contact.id.bytes) == b"whsec"
    frame = db.get(ReviewFrame, seeded["frame"].id)
    assert ring.decrypt(frame.key_id, frame.ciphertext, f"review_frame:{frame.id}".encode()).startswith(
        b"\xff"
    )


def test_rotation_moves_every_sealed_column_to_the_new_key(db: Session, clean_db: Engine) -> None:
    old = Keyring.from_text(OLD)
    seeded = _seed(db, old)
    both = Keyring.from_text(f"{NEW},{OLD}")  # step 2 of the procedure: the new key first, so active
    assert both.active_id == "k2"
    _check_readable(db, both, seeded)  # readers need nothing re-encrypted to keep working

    planned = keyrotation.rotate(clean_db, both, dry_run=True)
    assert planned.resealed == {
        "face_template.ciphertext": 5,
        "face_template.crop_sealed": 5,
        "review_frame.ciphertext": 1,
        "app_user.totp_secret_enc": 1,
        "notification_contact.webhook_secret_enc": 1,
    }
    assert planned.old_keys_in_use == {"k1"}
    _check_readable(db, old, seeded)  # the dry run changed nothing

    done = keyrotation.rotate(clean_db, both, batch_size=2)  # several batches, each its own transaction
    assert done.resealed == planned.resealed
    assert done.old_keys_in_use == set()
    assert done.keys_in_use["face_template.ciphertext"] == {"k2": 5}
    # the old key can leave the ring now: everything opens with the new key alone
    _check_readable(db, Keyring.from_text(NEW), seeded)

    again = keyrotation.rotate(clean_db, both)
    assert set(again.resealed.values()) == {0}


def test_rotate_key_command(db: Session, clean_db: Engine, pg_url: str, tmp_path, monkeypatch) -> None:
    _seed(db, Keyring.from_text(OLD), templates=2)
    env = {
        "ROLLCALL_DATABASE_URL": pg_url,
        "ROLLCALL_DATA_DIR": str(tmp_path),
        "ROLLCALL_SECRET_KEY": TEST_SECRETS["secret_key"],
        "ROLLCALL_ID_HASH_KEY": TEST_SECRETS["id_hash_key"],
        "ROLLCALL_TEMPLATE_KEY": f"{NEW},{OLD}",
    }
    from app.core.config import get_settings

    get_settings.cache_clear()
    try:
        runner = CliRunner()
        dry = runner.invoke(cli, ["rotate-key", "--dry-run", "--json"], env=env)
        assert dry.exit_code == 0, dry.output
        assert json.loads(dry.stdout)["resealed"]["face_template.ciphertext"] == 2
        done = runner.invoke(cli, ["rotate-key", "--json"], env=env)
        report = json.loads(done.stdout)
        assert report["old_keys_in_use"] == [] and report["active_key"] == "k2"
        fresh = runner.invoke(cli, ["new-key", "k3"], env=env)
        assert fresh.exit_code == 0 and Keyring.from_text(fresh.stdout.strip()).active_id == "k3"
        assert runner.invoke(cli, ["new-key", "k1"], env=env).exit_code == 1
    finally:
        get_settings.cache_clear()
