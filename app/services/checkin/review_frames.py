"""Frames of failed face check-ins, kept for staff review only when the school turns it on.

By default no image outlives its request: enrollment keeps templates, check-in keeps nothing. With
``keep_failed_checkin_frames`` on, a check-in in which a face was not recognised (``unknown``) or a claimed
student not verified (``not_verified``) keeps one frame, so staff can see what went wrong (lighting, a
stranger, an attempt with a photo). The frame is sealed with the template keyring (AES-256-GCM, bound to its
row) and deleted by the retention job once ``expires_at`` (``review_frame_ttl_h``, 24 hours at most) passes.
Admins list, view (audited) and delete frames of their school.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlmodel import Session, col

from app.core.crypto import Keyring
from app.core.enums import Role
from app.core.errors import NotFound
from app.core.setting_groups import CheckinPolicy
from app.db.tables import ReviewFrame, utcnow
from app.services.biometrics.stores import BiometricStores
from app.services.identity import access
from app.services.identity.principal import Principal
from app.services.privacy.activity import log_action, target
from app.services.uow import in_transaction

log = logging.getLogger(__name__)

FAILED_OUTCOMES = frozenset({"unknown", "not_verified"})
_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"BM", "image/bmp"),
)


def media_type_of(data: bytes) -> str:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((media for magic, media in _SIGNATURES if data.startswith(magic)), "application/octet-stream")


def _aad(frame_id: uuid.UUID) -> bytes:
    return f"review_frame:{frame_id}".encode()


async def keep_failed_frame(
    stores: BiometricStores,
    policy: CheckinPolicy,
    kiosk: Principal,
    frame: bytes | None,
    lesson_id: uuid.UUID | None,
    outcomes: Iterable[str],
) -> bool:
    """Keep ``frame`` when the setting is on and a face failed; never fails the check-in itself."""
    failed = sorted(FAILED_OUTCOMES.intersection(outcomes))
    if not policy.keep_failed_frames or not failed or not frame:
        return False
    try:
        await in_transaction(
            stores.engine,
            keep_frame,
            stores.cipher.keyring,
            kiosk,
            frame,
            lesson_id,
            failed[0],
            policy.review_frame_ttl_h,
        )
    except Exception:  # the attendance is recorded; a frame we could not keep is only a lost review
        log.exception("could not keep a failed check-in frame for review")
        return False
    return True


def keep_frame(
    session: Session,
    keyring: Keyring,
    kiosk: Principal,
    frame: bytes,
    lesson_id: uuid.UUID | None,
    reason: str,
    ttl_h: int,
    now: datetime | None = None,
) -> ReviewFrame:
    captured = now or utcnow()
    row_id = uuid.uuid4()
    key_id, ciphertext = keyring.encrypt(frame, _aad(row_id))
    row = ReviewFrame(
        id=row_id,
        school_id=kiosk.school_id,
        kiosk_id=kiosk.id,
        lesson_id=lesson_id,
        reason=reason,
        media_type=media_type_of(frame),
        key_id=key_id,
        ciphertext=ciphertext,
        captured_at=captured,
        expires_at=captured + timedelta(hours=ttl_h),
    )
    session.add(row)
    session.flush()
    return row


def list_frames(session: Session, principal: Principal, now: datetime | None = None) -> list[ReviewFrame]:
    access.require_role(principal, Role.admin)
    query = (
        select(ReviewFrame)
        .where(
            col(ReviewFrame.school_id) == principal.school_id, col(ReviewFrame.expires_at) > (now or utcnow())
        )
        .order_by(col(ReviewFrame.captured_at).desc())
    )
    return list(session.scalars(query))


def _frame(session: Session, principal: Principal, frame_id: uuid.UUID) -> ReviewFrame:
    access.require_role(principal, Role.admin)
    row = session.get(ReviewFrame, frame_id)
    if row is None or row.school_id != principal.school_id or row.expires_at <= utcnow():
        raise NotFound(f"no review frame {frame_id}", code="review_frame_not_found", id=str(frame_id))
    return row


def open_frame(
    session: Session, principal: Principal, keyring: Keyring, frame_id: uuid.UUID, request_id: str | None
) -> tuple[bytes, str]:
    """The decrypted image and its media type; every viewing is audited."""
    row = _frame(session, principal, frame_id)
    image = keyring.decrypt(row.key_id, row.ciphertext, _aad(row.id))
    log_action(session, principal, "review_frame.view", target("review_frame", row.id), request_id)
    return image, row.media_type


def delete_frame(session: Session, principal: Principal, frame_id: uuid.UUID, request_id: str | None) -> None:
    row = _frame(session, principal, frame_id)
    session.delete(row)
    session.flush()
    log_action(session, principal, "review_frame.delete", target("review_frame", frame_id), request_id)


def reseal(row: ReviewFrame, keyring: Keyring) -> bool:
    """Re-encrypt under the active key (key rotation); False when it already is."""
    if row.key_id == keyring.active_id:
        return False
    image = keyring.decrypt(row.key_id, row.ciphertext, _aad(row.id))
    row.key_id, row.ciphertext = keyring.encrypt(image, _aad(row.id))
    return True


def delete_expired(session: Session, now: datetime, *, dry_run: bool) -> int:
    """Frames past their expiry (and any older than 24 hours, whatever their expiry said)."""
    expired = (col(ReviewFrame.expires_at) <= now) | (
        col(ReviewFrame.captured_at) <= now - timedelta(hours=24)
    )
    if dry_run:
        return len(list(session.scalars(select(col(ReviewFrame.id)).where(expired))))
    result = session.execute(delete(ReviewFrame).where(expired))
    return int(getattr(result, "rowcount", 0) or 0)
