"""Key rotation: re-encrypt everything sealed with the template keyring under its active key.

Everything encrypted at rest uses one keyring (``ROLLCALL_TEMPLATE_KEY``, ``app.core.crypto``): templates
and their face crops, review frames, TOTP secrets, webhook signing secrets. Every ciphertext names the key
that sealed it, and readers decrypt with whichever key a row names, so rotating needs no downtime
(docs/PRIVACY.md, "Key rotation", has the whole procedure):
1. add the new key to the ring, the old one still active; roll out (every replica can now read both);
2. make the new key active (list it first, or ``ROLLCALL_TEMPLATE_KEY_ID``); roll out: new data uses it;
3. ``python -m app.jobs rotate-key``: this module re-seals the older rows in batches, each batch its own short
   transaction over rows locked ``FOR UPDATE SKIP LOCKED`` (a row an enrollment holds is left for the next
   run, never waited on); it reports the rows still under each key;
4. when no row names the old key, remove it from the ring and roll out.
Idempotent: a row already under the active key is never touched, so the job can be re-run at any time.

``SEALED`` lists every encrypted column; a test checks it covers every binary column of the schema, so a new
encrypted column cannot be forgotten here.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Engine, SQLColumnExpression, func, literal, select
from sqlmodel import Session, SQLModel, col

from app.core.crypto import Keyring
from app.db.session import transaction
from app.db.tables import FaceTemplate, NotificationContact, ReviewFrame, User
from app.services.biometrics.stores import TemplateCipher, crop_aad
from app.services.checkin import review_frames


def _totp_aad(row: Any) -> bytes:
    row_id: uuid.UUID = row.id
    return b"totp:" + row_id.bytes  # as app.services.identity.auth seals it


def _webhook_aad(row: Any) -> bytes:
    row_id: uuid.UUID = row.id
    return b"webhook:" + row_id.bytes  # as app.notifications seals it


@dataclass(frozen=True)
class Sealed:
    """One encrypted column: how to find its rows not under the active key, and how to re-seal one."""

    name: str
    model: type[SQLModel]
    column: str
    #: Rows that may need re-sealing (SQL), given the active key id.
    stale: Callable[[str], ColumnElement[bool]]
    #: The key id that sealed a row's value (SQL expression), for the report.
    key_of: Callable[[], SQLColumnExpression[Any]]
    reseal: Callable[[Any, Keyring], bool]


def _key_column(model: Any) -> Callable[[str], ColumnElement[bool]]:
    return lambda active: model.key_id != active


def _envelope_key(column: Any) -> ColumnElement[Any]:
    """The key id inside a ``Keyring.seal`` envelope: byte 1 is its length, the id follows from byte 2."""
    return func.convert_from(func.substring(column, 3, func.get_byte(column, 1)), "UTF8")


def _envelope_stale(column: Any) -> Callable[[str], ColumnElement[bool]]:
    return lambda active: column.is_not(None) & (_envelope_key(column) != literal(active))


def _reseal_envelope(attribute: str, aad: Callable[[Any], bytes]) -> Callable[[Any, Keyring], bool]:
    def reseal(row: Any, keyring: Keyring) -> bool:
        blob = getattr(row, attribute)
        if blob is None or keyring.sealed_key_id(blob) == keyring.active_id:
            return False
        setattr(row, attribute, keyring.reseal(blob, aad(row)))
        return True

    return reseal


SEALED: tuple[Sealed, ...] = (
    Sealed(
        "face_template.ciphertext",
        FaceTemplate,
        "ciphertext",
        _key_column(FaceTemplate),
        lambda: col(FaceTemplate.key_id),
        lambda row, keyring: TemplateCipher(keyring).reseal(row),
    ),
    Sealed(
        "face_template.crop_sealed",
        FaceTemplate,
        "crop_sealed",
        _envelope_stale(FaceTemplate.crop_sealed),
        lambda: _envelope_key(FaceTemplate.crop_sealed),
        _reseal_envelope("crop_sealed", lambda row: crop_aad(row.student_id)),
    ),
    Sealed(
        "review_frame.ciphertext",
        ReviewFrame,
        "ciphertext",
        _key_column(ReviewFrame),
        lambda: col(ReviewFrame.key_id),
        lambda row, keyring: review_frames.reseal(row, keyring),
    ),
    Sealed(
        "app_user.totp_secret_enc",
        User,
        "totp_secret_enc",
        _envelope_stale(User.totp_secret_enc),
        lambda: _envelope_key(User.totp_secret_enc),
        _reseal_envelope("totp_secret_enc", _totp_aad),
    ),
    Sealed(
        "notification_contact.webhook_secret_enc",
        NotificationContact,
        "webhook_secret_enc",
        _envelope_stale(NotificationContact.webhook_secret_enc),
        lambda: _envelope_key(NotificationContact.webhook_secret_enc),
        _reseal_envelope("webhook_secret_enc", _webhook_aad),
    ),
)


@dataclass
class RotationReport:
    active_key: str
    dry_run: bool
    resealed: dict[str, int] = field(default_factory=dict)
    #: After the run: rows per key id, per column (what still needs the old keys).
    keys_in_use: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def old_keys_in_use(self) -> set[str]:
        return {key for keys in self.keys_in_use.values() for key in keys if key != self.active_key}


def rotate(
    engine: Engine, keyring: Keyring, *, batch_size: int = 500, dry_run: bool = False
) -> RotationReport:
    """Re-seal every row not under ``keyring.active_id`` (see the module docstring)."""
    report = RotationReport(active_key=keyring.active_id, dry_run=dry_run)
    for sealed in SEALED:
        if dry_run:
            with transaction(engine) as session:
                report.resealed[sealed.name] = _count_stale(session, sealed, keyring.active_id)
        else:
            report.resealed[sealed.name] = _reseal_all(engine, sealed, keyring, batch_size)
    with transaction(engine) as session:
        report.keys_in_use = keys_in_use(session)
    return report


def keys_in_use(session: Session) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    for sealed in SEALED:
        column = getattr(sealed.model, sealed.column)
        key = sealed.key_of()
        rows = session.execute(select(key, func.count()).where(column.is_not(None)).group_by(key))
        found[sealed.name] = {str(key_id): int(count) for key_id, count in rows}
    return found


def _count_stale(session: Session, sealed: Sealed, active: str) -> int:
    query = select(func.count()).select_from(sealed.model).where(sealed.stale(active))
    return int(session.scalar(query) or 0)


def _reseal_all(engine: Engine, sealed: Sealed, keyring: Keyring, batch_size: int) -> int:
    """Batches in primary-key order, each its own transaction; a locked row is skipped (next run)."""
    model: Any = sealed.model
    done = 0
    after: uuid.UUID | None = None
    while True:
        with transaction(engine) as session:
            query = select(model).where(sealed.stale(keyring.active_id))
            if after is not None:
                query = query.where(model.id > after)
            query = query.order_by(model.id).limit(batch_size).with_for_update(skip_locked=True)
            rows = list(session.scalars(query))
            counted = Counter(sealed.reseal(row, keyring) for row in rows)
            session.flush()
        done += counted[True]
        if len(rows) < batch_size:
            return done
        after = rows[-1].id
