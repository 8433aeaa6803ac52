"""Administration of notifications: contacts, the school's settings, dead letters; and unsubscribing.

Admins manage their school's contacts (the office keeps guardians' details, as it keeps the roster). A
webhook contact gets a random signing secret, stored sealed (AES-GCM, the template keyring) and shown once.
Every change is in the audit trail; contact details never are (only the contact's id).
"""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy import select, update
from sqlmodel import Session, col

from app.core.config import Settings
from app.core.enums import DeliveryStatus
from app.core.errors import InvalidInput, NotFound
from app.db.tables import (
    NotificationContact,
    NotificationDelivery,
    NotificationSettings,
    Student,
    User,
    utcnow,
)
from app.notifications.tokens import CHANNEL_ALL, BadToken, read_unsubscribe_token
from app.notifications.worker import webhook_secret_aad
from app.schemas.notifications import (
    ADDRESS_FIELD,
    ContactCreate,
    ContactCreated,
    ContactPublic,
    ContactUpdate,
    DeliveryPublic,
    NotificationSettingsPublic,
    NotificationSettingsUpdate,
)
from app.services.identity import access
from app.services.identity.principal import Principal
from app.services.privacy import audit
from app.services.privacy.activity import log_action, target


def _contact(session: Session, principal: Principal, contact_id: uuid.UUID) -> NotificationContact:
    return access.in_school(session, principal, NotificationContact, contact_id, "contact")


def get_settings(session: Session, principal: Principal) -> NotificationSettingsPublic:
    row = session.get(NotificationSettings, principal.school_id)
    return NotificationSettingsPublic.model_validate(row) if row else NotificationSettingsPublic()


def put_settings(
    session: Session, principal: Principal, data: NotificationSettingsUpdate, request_id: str | None
) -> NotificationSettingsPublic:
    row = session.get(NotificationSettings, principal.school_id) or NotificationSettings(
        school_id=principal.school_id
    )
    row.quiet_start, row.quiet_end, row.language = data.quiet_start, data.quiet_end, data.language
    session.add(row)
    session.flush()
    log_action(session, principal, "notification.settings", None, request_id, language=data.language)
    return NotificationSettingsPublic.model_validate(row)


def list_contacts(
    session: Session, principal: Principal, student_id: uuid.UUID | None = None
) -> list[ContactPublic]:
    query = select(NotificationContact).where(col(NotificationContact.school_id) == principal.school_id)
    if student_id is not None:
        query = query.where(col(NotificationContact.student_id) == student_id)
    rows = session.scalars(query.order_by(col(NotificationContact.created_at), col(NotificationContact.id)))
    return [ContactPublic.model_validate(row) for row in rows]


def create_contact(
    session: Session, principal: Principal, data: ContactCreate, settings: Settings, request_id: str | None
) -> ContactCreated:
    if data.student_id is not None:
        access.in_school(session, principal, Student, data.student_id, "student")
    if data.user_id is not None:
        access.in_school(session, principal, User, data.user_id, "user")
    contact = NotificationContact(
        school_id=principal.school_id,
        **data.model_dump(exclude={"channels", "topics"}),
        channels=list(data.channels),
        topics=list(data.topics),
    )
    session.add(contact)
    session.flush()
    secret = _new_webhook_secret(contact, settings) if contact.webhook_url else None
    log_action(
        session,
        principal,
        "notification.contact.create",
        target("contact", contact.id),
        request_id,
        student_id=str(data.student_id) if data.student_id else None,
        channels=contact.channels,
    )
    return ContactCreated(**ContactPublic.model_validate(contact).model_dump(), webhook_secret=secret)


def update_contact(
    session: Session,
    principal: Principal,
    contact_id: uuid.UUID,
    data: ContactUpdate,
    settings: Settings,
    request_id: str | None,
) -> ContactCreated:
    contact = _contact(session, principal, contact_id)
    sent = data.model_dump(exclude_unset=True)
    if sent.get("name", "") is None or sent.get("language", "") is None:
        raise InvalidInput("name and language cannot be empty", code="invalid_request")
    for name in ("channels", "topics"):
        if name in sent and sent[name] is None:
            sent[name] = []  # null: none of them
    for name, value in sent.items():
        setattr(contact, name, list(value) if isinstance(value, list) else value)
    missing = [c for c in contact.channels if not getattr(contact, ADDRESS_FIELD[c])]
    if missing:
        raise InvalidInput(f"channels {missing} need an address", code="invalid_request", channels=missing)
    secret = None
    if "webhook_url" in sent and contact.webhook_url:
        secret = _new_webhook_secret(contact, settings)  # a new URL gets a new secret
    session.add(contact)
    session.flush()
    log_action(
        session, principal, "notification.contact.update", target("contact", contact.id), request_id,
        fields=sorted(sent),
    )  # fmt: skip
    return ContactCreated(**ContactPublic.model_validate(contact).model_dump(), webhook_secret=secret)


def delete_contact(
    session: Session, principal: Principal, contact_id: uuid.UUID, request_id: str | None
) -> None:
    contact = _contact(session, principal, contact_id)
    session.delete(contact)
    session.flush()
    log_action(session, principal, "notification.contact.delete", target("contact", contact_id), request_id)


def _new_webhook_secret(contact: NotificationContact, settings: Settings) -> str:
    secret = "whsec_" + secrets.token_urlsafe(32)
    contact.webhook_secret_enc = settings.keyring().seal(
        secret.encode("utf-8"), webhook_secret_aad(contact.id)
    )
    return secret


def list_deliveries(
    session: Session, principal: Principal, status: DeliveryStatus | None, limit: int = 100
) -> list[DeliveryPublic]:
    query = select(NotificationDelivery).where(col(NotificationDelivery.school_id) == principal.school_id)
    if status is not None:
        query = query.where(col(NotificationDelivery.status) == status)
    rows = session.scalars(query.order_by(col(NotificationDelivery.created_at).desc()).limit(limit))
    return [DeliveryPublic.model_validate(row) for row in rows]


def retry_delivery(
    session: Session, principal: Principal, delivery_id: uuid.UUID, request_id: str | None
) -> DeliveryPublic:
    """A dead letter goes back to the queue, with a fresh set of attempts."""
    delivery = access.in_school(session, principal, NotificationDelivery, delivery_id, "delivery")
    if delivery.status is not DeliveryStatus.dead:
        raise InvalidInput(
            "only a dead delivery can be retried", code="not_dead", status=delivery.status.value
        )
    delivery.status, delivery.attempts, delivery.next_attempt_at = DeliveryStatus.pending, 0, utcnow()
    session.add(delivery)
    session.flush()
    log_action(session, principal, "notification.retry", target("delivery", delivery.id), request_id)
    return DeliveryPublic.model_validate(delivery)


def unsubscribe(session: Session, settings: Settings, token: str, request_id: str | None) -> str:
    """Stop the token's channel (or every channel) for its contact; idempotent. Returns the channel."""
    try:
        contact_id, channel = read_unsubscribe_token(settings, token)
    except BadToken as exc:
        raise NotFound("this unsubscribe link is not valid", code="invalid_token") from exc
    contact = session.get(NotificationContact, contact_id)
    if contact is None:
        return channel  # already gone: nothing more to stop
    remaining = [] if channel == CHANNEL_ALL else [c for c in contact.channels if c != channel]
    if remaining != contact.channels:
        contact.channels = remaining
        session.add(contact)
        # Nothing queued for the stopped channel(s) is sent any more.
        stopped = [channel] if channel != CHANNEL_ALL else list(ADDRESS_FIELD)
        session.execute(
            update(NotificationDelivery)
            .where(
                col(NotificationDelivery.contact_id) == contact.id,
                col(NotificationDelivery.channel).in_(stopped),
                col(NotificationDelivery.status) == DeliveryStatus.pending,
            )
            .values(status=DeliveryStatus.skipped)
        )
        session.flush()
        audit.record(
            session,
            audit.SYSTEM_ACTOR,
            "notification.unsubscribe",
            target("contact", contact.id),
            request_id=request_id,
            school_id=contact.school_id,
            channel=channel,
        )
    return channel
