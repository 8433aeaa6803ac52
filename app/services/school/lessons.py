"""Class sessions (lessons): attendance is taken per session, present or late by its start and grace.

The class's teacher and admins run them. Times are stored in UTC; listings filter by the school's local
dates (``services.school.reports.local_day_bounds``) so "the 3rd" means the school's 3rd wherever the server
is.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlmodel import Session, col

from app.core.errors import Conflict, InvalidInput
from app.db.tables import Attendance, CheckinCode, ClassSession, utcnow
from app.notifications import events
from app.schemas.classes import SessionCreate, SessionPublic, SessionUpdate, check_times
from app.schemas.common import Page, PageParams
from app.services.crud import apply_update, paginate
from app.services.identity import access
from app.services.identity.principal import Principal
from app.services.privacy.activity import log_action, target
from app.services.school.dates import local_range


def list_sessions(
    session: Session,
    principal: Principal,
    class_id: uuid.UUID,
    params: PageParams,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Page[SessionPublic]:
    access.get_class(session, principal, class_id)
    query = select(ClassSession).where(col(ClassSession.class_id) == class_id)
    if date_from is not None or date_to is not None:
        start, end = local_range(access.school(session, principal).timezone, date_from, date_to)
        query = query.where(col(ClassSession.starts_at) >= start, col(ClassSession.starts_at) < end)
    return paginate(
        session, query.order_by(col(ClassSession.starts_at)), params, SessionPublic.model_validate
    )


def get_session(session: Session, principal: Principal, session_id: uuid.UUID) -> ClassSession:
    return access.get_session(session, principal, session_id)[0]


def create_session(
    session: Session, principal: Principal, class_id: uuid.UUID, data: SessionCreate, request_id: str | None
) -> ClassSession:
    klass = access.get_class(session, principal, class_id, manage=True)
    lesson = ClassSession(
        class_id=klass.id,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        grace_minutes=data.grace_minutes,
        room=data.room or klass.room,
    )
    session.add(lesson)
    session.flush()
    log_action(
        session, principal, "session.create", target("session", lesson.id), request_id, class_id=str(klass.id)
    )
    return lesson


def update_session(
    session: Session, principal: Principal, session_id: uuid.UUID, data: SessionUpdate, request_id: str | None
) -> ClassSession:
    """Attendance already recorded keeps its status: a corrected start time changes nobody's lateness."""
    lesson, _ = access.get_session(session, principal, session_id, manage=True)
    try:
        check_times(data.starts_at or lesson.starts_at, data.ends_at or lesson.ends_at)
    except ValueError as exc:
        raise InvalidInput(str(exc), code="invalid_request", field="ends_at") from exc
    changes = apply_update(lesson, data, required=("starts_at", "ends_at", "grace_minutes"))
    session.flush()
    if changes:
        log_action(
            session,
            principal,
            "session.update",
            target("session", lesson.id),
            request_id,
            fields=sorted(changes),
        )
    return lesson


def close_session(
    session: Session, principal: Principal, session_id: uuid.UUID, request_id: str | None
) -> ClassSession:
    """No more check-ins (kiosk or code) after this; teachers can still mark and correct."""
    lesson, _ = access.get_session(session, principal, session_id, manage=True)
    if lesson.closed_at is None:
        lesson.closed_at = utcnow()
        session.flush()
        log_action(session, principal, "session.close", target("session", lesson.id), request_id)
        events.session_over(session, lesson)  # absence notices, in this same transaction
    return lesson


def delete_session(
    session: Session, principal: Principal, session_id: uuid.UUID, request_id: str | None
) -> None:
    """Only a session without attendance or codes: recorded attendance is history, not a mistake to undo."""
    lesson, _ = access.get_session(session, principal, session_id, manage=True)
    for model in (Attendance, CheckinCode):
        if (
            session.scalars(select(col(model.id)).where(col(model.session_id) == session_id).limit(1)).first()
            is not None
        ):
            raise Conflict(
                "the session already has attendance records", code="in_use", session_id=str(session_id)
            )
    session.delete(lesson)
    session.flush()
    log_action(session, principal, "session.delete", target("session", session_id), request_id)
