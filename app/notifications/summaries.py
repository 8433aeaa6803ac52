"""Daily and weekly attendance summaries for teachers, from the class reports (``services.school.reports``).

``publish_summaries`` writes one ``summary.daily``/``summary.weekly`` event per class and teacher and period
(``dedupe_key``: publishing twice sends once); the worker delivers them to the teacher's contact. A teacher
without any contact gets one (their account's email, topic ``summary``) the first time; a teacher who
removed the topic or unsubscribed is left alone. Run it from a scheduler (a CronJob, cron):
``python -m app.notifications summaries --period daily`` after the school day, ``weekly`` on Fridays.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session, col

from app.core.enums import Role
from app.db.tables import NotificationContact, NotificationSettings, School, SchoolClass, User, utcnow
from app.notifications import events
from app.services.identity.principal import Principal
from app.services.school import reports

Period = Literal["daily", "weekly"]
TOP_ABSENTEES = 5


def period_range(period: Period, day: date) -> tuple[date, date]:
    """The days a summary covers: ``day``, or the seven days ending with it."""
    return (day, day) if period == "daily" else (day - timedelta(days=6), day)


def publish_summaries(
    session: Session,
    period: Period,
    *,
    day: date | None = None,
    school_id: uuid.UUID | None = None,
    now: datetime | None = None,
    max_days: int = 366,
) -> int:
    """Summary events for every taught class with lessons in the period; returns how many were new."""
    now = now or utcnow()
    schools = session.scalars(
        select(School) if school_id is None else select(School).where(col(School.id) == school_id)
    )
    new = 0
    for school in schools:
        local_day = day or now.astimezone(ZoneInfo(school.timezone)).date()
        first, last = period_range(period, local_day)
        language = (
            session.get(NotificationSettings, school.id) or NotificationSettings(school_id=school.id)
        ).language
        classes = session.scalars(
            select(SchoolClass).where(
                col(SchoolClass.school_id) == school.id, col(SchoolClass.teacher_id).is_not(None)
            )
        ).all()
        for klass in classes:
            teacher = session.get(User, klass.teacher_id)
            if teacher is None or not teacher.is_active:
                continue
            as_teacher = Principal(kind="user", id=teacher.id, school_id=school.id, role=Role.teacher)
            report = reports.class_report(session, as_teacher, klass.id, first, last, max_days=max_days)
            if report.lessons == 0:
                continue
            _ensure_contact(session, teacher, language)
            worst = sorted(
                (row for row in report.rows if row.totals.absent or row.totals.late),
                key=lambda row: (-row.totals.absent, -row.totals.late),
            )[:TOP_ABSENTEES]
            new += events.publish(
                session,
                school_id=school.id,
                kind=events.SUMMARY_DAILY if period == "daily" else events.SUMMARY_WEEKLY,
                dedupe_key=f"summary:{period}:{first.isoformat()}:{klass.id}:{teacher.id}",
                payload={
                    "user_id": str(teacher.id),
                    "period": period,
                    "class_id": str(klass.id),
                    "class_code": klass.code,
                    "class_name": klass.name,
                    "date_from": first.isoformat(),
                    "date_to": last.isoformat(),
                    "lessons": report.lessons,
                    "totals": report.totals.model_dump(),
                    "absentees": [
                        {
                            "student_id": str(row.student_id),
                            "absent": row.totals.absent,
                            "late": row.totals.late,
                        }
                        for row in worst
                    ],
                },
            )
    return new


def _ensure_contact(session: Session, teacher: User, language: str) -> None:
    exists = session.scalars(
        select(col(NotificationContact.id)).where(col(NotificationContact.user_id) == teacher.id)
    ).first()
    if exists is None:
        session.add(
            NotificationContact(
                school_id=teacher.school_id,
                user_id=teacher.id,
                name=teacher.full_name,
                language=language,
                email=teacher.email,
                channels=["email"],
                topics=["summary"],
            )
        )
        session.flush()
