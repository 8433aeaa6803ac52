"""Retention: delete what the policy no longer allows us to keep (``python -m app.jobs retention``, nightly).

The schedule (settings; docs/PRIVACY.md, "Retention schedule"):
1. Review frames of failed check-ins (kept only when ``keep_failed_checkin_frames`` is on): deleted when
   they expire, 24 hours at most after capture.
2. Attendance older than ``attendance_archive_years`` (2) moves to ``attendance_archive``: out of the working
   table, so teachers' views and reports no longer carry it, its corrections folded into the archived row.
   Why a separate table rather than an ``archived`` flag: every query of attendance would have to remember
   the flag, and one forgotten filter would show old records again; a table nobody else reads cannot leak.
3. Archived attendance older than ``attendance_delete_years`` (7) is deleted.
4. Students who left (``active`` false) lose their biometric data: consent withdrawn, templates, vectors and
   cached answers erased by the same command a withdrawal uses, the audit trail naming ``system``.
5. Milvus is compacted, so every vector deleted since the last run (erasures, withdrawals, re-enrollments,
   leavers) is physically gone, and erasures still waiting for it are marked completed (on Milvus Lite, whose
   ``compact`` does nothing, the index is rebuilt from PostgreSQL, which deletes the old collection files).

Each step works in batches, each batch its own transaction, so a large backlog never holds long locks and an
interrupted run loses nothing: the next run continues. Every step selects only what is still due, so running
twice changes nothing more (idempotent), and ``dry_run`` counts what would change and changes nothing.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, exists, func, or_, select
from sqlmodel import Session, col

from app.core.enums import Role
from app.core.setting_groups import RetentionPolicy
from app.db.session import transaction
from app.db.tables import (
    Attendance,
    AttendanceArchive,
    AttendanceChange,
    Consent,
    FaceTemplate,
    Lesson,
    SchoolClass,
    Student,
    utcnow,
)
from app.services.biometrics.stores import BiometricStores
from app.services.checkin import review_frames
from app.services.identity.principal import Principal
from app.services.privacy import consent, erasure

log = logging.getLogger(__name__)

SYSTEM = "system"
#: The principal the job acts as within one school (the audit trail names ``system``, not this id).
SYSTEM_USER_ID = uuid.UUID(int=0)


@dataclass
class RetentionReport:
    dry_run: bool
    now: datetime
    archive_before: datetime
    delete_before: datetime
    review_frames_deleted: int = 0
    attendance_archived: int = 0
    attendance_deleted: int = 0
    leavers_erased: int = 0
    leaver_templates_deleted: int = 0
    leaver_vectors_deleted: int = 0
    erasures_compacted: int = 0
    milvus: str = "not run"
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class IndexMaintenance:
    """What retention asks of the vector index beyond the domain services: a rebuild (Milvus Lite)."""

    async def rebuild(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError


def years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


async def run(
    engine: Engine,
    policy: RetentionPolicy,
    *,
    stores: BiometricStores | None,
    index: IndexMaintenance | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> RetentionReport:
    """Every step of the module docstring; ``stores`` None skips the steps that need Redis and Milvus."""
    moment = now or utcnow()
    report = RetentionReport(
        dry_run=dry_run,
        now=moment,
        archive_before=years_before(moment, policy.archive_years),
        delete_before=years_before(moment, policy.delete_years),
    )
    batch = policy.batch_size
    with transaction(engine) as session:
        report.review_frames_deleted = review_frames.delete_expired(session, moment, dry_run=dry_run)
    if dry_run:
        with transaction(engine) as session:
            _count_attendance(session, report)
    else:
        report.attendance_archived = _archive_attendance(engine, report.archive_before, batch)
        report.attendance_deleted = _delete_archived(engine, report.delete_before, batch)
    if stores is None:
        report.errors.append("Redis and Milvus were not configured: leavers and compaction skipped")
        return report
    try:
        await _erase_leavers(engine, stores, report, dry_run=dry_run)
        await _compact_index(engine, stores, index, report, policy.compaction_wait_s, dry_run=dry_run)
    except Exception as exc:  # reported (and the job fails), after the PostgreSQL steps committed
        log.exception("retention: a step over Redis/Milvus failed")
        report.errors.append(f"{type(exc).__name__}: {getattr(exc, 'message', exc)}")
    return report


# ---------------------------------------------------------------------- attendance


def _count_attendance(session: Session, report: RetentionReport) -> None:
    old = (
        select(func.count())
        .select_from(Attendance)
        .where(col(Attendance.recorded_at) < report.archive_before)
    )
    report.attendance_archived = int(session.scalar(old) or 0)
    live_expired = (
        select(func.count()).select_from(Attendance).where(col(Attendance.recorded_at) < report.delete_before)
    )
    archived_expired = (
        select(func.count())
        .select_from(AttendanceArchive)
        .where(col(AttendanceArchive.recorded_at) < report.delete_before)
    )
    report.attendance_deleted = int(session.scalar(live_expired) or 0) + int(
        session.scalar(archived_expired) or 0
    )


def _archive_attendance(engine: Engine, before: datetime, batch: int) -> int:
    moved = 0
    while True:
        with transaction(engine) as session:
            count = _archive_batch(session, before, batch)
        moved += count
        if count < batch:
            return moved


def _archive_batch(session: Session, before: datetime, batch: int) -> int:
    rows = session.execute(
        select(Attendance, col(Lesson.starts_at), col(Lesson.class_id), col(SchoolClass.school_id))
        .join(Lesson, col(Lesson.id) == Attendance.lesson_id)
        .join(SchoolClass, col(SchoolClass.id) == Lesson.class_id)
        .where(col(Attendance.recorded_at) < before)
        .order_by(col(Attendance.recorded_at))
        .limit(batch)
        .with_for_update(of=Attendance, skip_locked=True)
    ).all()
    if not rows:
        return 0
    ids = [record.id for record, *_ in rows]
    changes: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for change in session.scalars(
        select(AttendanceChange)
        .where(col(AttendanceChange.attendance_id).in_(ids))
        .order_by(col(AttendanceChange.changed_at))
    ):
        changes.setdefault(change.attendance_id, []).append(
            {
                "changed_at": change.changed_at.isoformat(),
                "changed_by": change.changed_by,
                "from": change.old_status.value if change.old_status else None,
                "to": change.new_status.value,
                "reason": change.reason,
            }
        )
    for record, starts_at, class_id, school_id in rows:
        session.add(
            AttendanceArchive(
                id=record.id,
                school_id=school_id,
                student_id=record.student_id,
                lesson_id=record.lesson_id,
                class_id=class_id,
                lesson_starts_at=starts_at,
                status=record.status,
                method=record.method,
                confidence=record.confidence,
                recorded_at=record.recorded_at,
                recorded_by=record.recorded_by,
                changes=changes.get(record.id, []),
            )
        )
    session.flush()
    session.execute(delete(AttendanceChange).where(col(AttendanceChange.attendance_id).in_(ids)))
    session.execute(delete(Attendance).where(col(Attendance.id).in_(ids)))
    return len(rows)


def _delete_archived(engine: Engine, before: datetime, batch: int) -> int:
    deleted = 0
    while True:
        with transaction(engine) as session:
            ids = list(
                session.scalars(
                    select(col(AttendanceArchive.id))
                    .where(col(AttendanceArchive.recorded_at) < before)
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                )
            )
            if ids:
                session.execute(delete(AttendanceArchive).where(col(AttendanceArchive.id).in_(ids)))
        deleted += len(ids)
        if len(ids) < batch:
            return deleted


# ---------------------------------------------------------------------- biometric data of leavers


def _leavers(session: Session) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """``(student id, school id)`` of students who left and still have templates or a consent in force."""
    has_templates = exists(select(col(FaceTemplate.id)).where(col(FaceTemplate.student_id) == Student.id))
    has_consent = exists(
        select(col(Consent.id)).where(
            col(Consent.student_id) == Student.id, col(Consent.withdrawn_at).is_(None)
        )
    )
    query = select(col(Student.id), col(Student.school_id)).where(
        col(Student.active).is_(False), or_(has_templates, has_consent)
    )
    return [(student_id, school_id) for student_id, school_id in session.execute(query)]


def system_principal(school_id: uuid.UUID) -> Principal:
    return Principal(kind="user", id=SYSTEM_USER_ID, school_id=school_id, role=Role.admin)


async def _erase_leavers(
    engine: Engine, stores: BiometricStores, report: RetentionReport, *, dry_run: bool
) -> None:
    with transaction(engine) as session:
        leavers = _leavers(session)
        if dry_run:
            report.leavers_erased = len(leavers)
            ids = [student_id for student_id, _ in leavers]
            query = (
                select(func.count()).select_from(FaceTemplate).where(col(FaceTemplate.student_id).in_(ids))
            )
            report.leaver_templates_deleted = int(session.scalar(query) or 0) if ids else 0
            return
    for student_id, school_id in leavers:
        result = await consent.erase_everywhere(
            stores,
            system_principal(school_id),
            student_id,
            None,
            action="retention.leaver_biometrics",
            actor=SYSTEM,
        )
        report.leavers_erased += 1
        report.leaver_templates_deleted += result.templates_deleted
        report.leaver_vectors_deleted += result.vectors_deleted


# ---------------------------------------------------------------------- erasures still to compact


async def _compact_index(
    engine: Engine,
    stores: BiometricStores,
    index: IndexMaintenance | None,
    report: RetentionReport,
    compaction_wait_s: float,
    *,
    dry_run: bool,
) -> None:
    """Compact Milvus every run: the vectors of today's withdrawals, re-enrollments and leavers become
    physically gone as well as those of erasures (whose tombstones are then marked completed). On Milvus Lite
    compaction does nothing, so the index is rebuilt from PostgreSQL instead."""
    with transaction(engine) as session:
        pending = erasure.pending(session)
    if dry_run:
        report.erasures_compacted = len(pending)
        report.milvus = "would compact"
        return
    outcome = await stores.index.compact(max(compaction_wait_s, 60.0))
    if outcome == "needs_rebuild" and index is not None:
        await index.rebuild()
        outcome = "completed"
    report.milvus = outcome
    if not pending:
        return
    with transaction(engine) as session:
        erasure.mark_compacted(session, pending, outcome)
        if outcome == "completed":
            report.erasures_compacted = len(pending)
