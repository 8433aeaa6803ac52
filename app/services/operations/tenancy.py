"""The installation's schools, as its operator runs them (``python -m app.tenants``): add one with its first
admin, list them, suspend and resume one, delete one.

The operator is whoever holds the installation's database credentials: there is no platform role inside the
API, so no stolen staff session can reach another school (every route stays scoped to the caller's school).
Each action is audited in the school's own chain as ``operator``.

- **Suspend**: nobody of the school signs in (403 ``school_suspended`` after the right password), the sign-ins
  it has are ended, its kiosks are refused from their next request (their cached keys are dropped, and the
  PostgreSQL check refuses them), its data is kept. **Resume** undoes it.
- **Delete** (the school's name typed again as the confirmation): suspended first, so nothing new arrives;
  then every student is erased exactly as an admin's GDPR erasure does (``services.privacy.erasure``: every
  row, Redis key and Milvus vector, each with its tombstone), Milvus is compacted once for all of them, every
  remaining row of the school is deleted (found from the schema's foreign keys, like a student's), the Redis
  keys naming it, its users or its kiosks go, and the school row last. What stays is what a student's
  erasure keeps: the audit chain and the tombstones (no foreign key to the school on purpose). The receipt
  counts what went where and lists the erasure receipts; it is also the ``school.delete`` audit event.

A deletion interrupted half-way (Milvus down, the process killed) is finished by running it again: students
already erased are gone from the list, the rest continue.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from sqlalchemy import Engine, delete, func, select
from sqlmodel import Session, col

from app.core.enums import Role
from app.core.errors import Conflict, InvalidInput, NotFound
from app.core.setting_groups import PasswordPolicy
from app.db.session import transaction
from app.db.tables import KioskKey, School, Student, User, utcnow
from app.services.biometrics.stores import BiometricStores
from app.services.identity.auth import NewSchool, TokenFamilies, found_school
from app.services.identity.kiosks import KioskService
from app.services.identity.principal import operator_of
from app.services.privacy import audit, erasure
from app.services.uow import in_transaction


@dataclass(frozen=True, slots=True)
class SchoolState:
    """One school as the operator's list shows it."""

    id: uuid.UUID
    name: str
    timezone: str
    state: str  # "active" or "suspended"
    admins: int
    users: int
    students: int
    kiosks: int
    created_at: datetime


def add_school(session: Session, passwords: PasswordPolicy, new: NewSchool) -> tuple[School, User]:
    """A new school and its first admin, who enrols TOTP at first sign-in (as after the bootstrap)."""
    return found_school(session, passwords, new, "school.create")


def list_schools(session: Session) -> list[SchoolState]:
    """Every school with its counts, by name."""

    def per_school(school_id: Any, *where: Any) -> dict[uuid.UUID, int]:
        query = select(school_id, func.count()).where(*where).group_by(school_id)
        return {school: int(n) for school, n in session.execute(query)}

    users = per_school(col(User.school_id))
    admins = per_school(col(User.school_id), col(User.role) == Role.admin)
    students = per_school(col(Student.school_id))
    kiosks = per_school(col(KioskKey.school_id), col(KioskKey.revoked_at).is_(None))
    return [
        SchoolState(
            id=school.id,
            name=school.name,
            timezone=school.timezone,
            state="suspended" if school.suspended_at is not None else "active",
            admins=admins.get(school.id, 0),
            users=users.get(school.id, 0),
            students=students.get(school.id, 0),
            kiosks=kiosks.get(school.id, 0),
            created_at=school.created_at,
        )
        for school in session.scalars(select(School).order_by(col(School.name)))
    ]


def find_school(session: Session, ref: str) -> School:
    """A school by its id or its exact name (what the operator types)."""
    try:
        school = session.get(School, uuid.UUID(ref))
    except ValueError:
        school = session.scalars(select(School).where(col(School.name) == ref.strip())).first()
    if school is None:
        raise NotFound(f"no school {ref!r}", code="school_not_found")
    return school


def suspend(engine: Engine, client: redis.Redis, kiosks: KioskService, ref: str) -> School:
    """Suspend the school (idempotent), then end its sign-ins and drop its kiosks' cached keys."""

    with transaction(engine) as session:
        school = _locked(session, ref)
        if school.suspended_at is None:
            school.suspended_at = utcnow()
            audit.record(session, operator_of(school.id), "school.suspend", f"school:{school.id}")
        session.flush()
        users = list(session.scalars(select(col(User.id)).where(col(User.school_id) == school.id)))
        prefixes = list(
            session.scalars(select(col(KioskKey.prefix)).where(col(KioskKey.school_id) == school.id))
        )
    # After the commit: from now on PostgreSQL refuses them; these make it true for sign-ins already held.
    families = TokenFamilies(client, 1)
    for user_id in users:
        families.revoke_user(user_id)
    kiosks.forget(prefixes)
    return school


def resume(session: Session, ref: str) -> School:
    """Lift a suspension (idempotent); people sign in again as usual."""
    school = _locked(session, ref)
    if school.suspended_at is not None:
        school.suspended_at = None
        audit.record(session, operator_of(school.id), "school.resume", f"school:{school.id}")
    session.flush()
    return school


async def delete_school(
    stores: BiometricStores,
    client: redis.Redis,
    kiosks: KioskService,
    ref: str,
    *,
    confirm: str,
    compaction_wait_s: float,
) -> dict[str, Any]:
    """Delete the school everywhere (see the module docstring); the receipt."""
    school = await in_transaction(stores.engine, find_school, ref)
    if confirm != school.name:
        raise InvalidInput(
            "type the school's name exactly to confirm its deletion", code="confirmation_mismatch"
        )
    school_id, name = school.id, school.name
    suspend(stores.engine, client, kiosks, str(school_id))
    operator = operator_of(school_id)
    receipts: list[uuid.UUID] = []
    for student_id in await in_transaction(stores.engine, _students_of, school_id):
        erased = await erasure.erase_student(
            stores, client, operator, student_id, None, compaction_wait_s=0
        )  # one compaction for all of them, below
        receipts.append(erased.receipt_id)
    compaction = await erasure.compact(stores, compaction_wait_s)
    if receipts:
        await in_transaction(stores.engine, erasure.mark_compacted, receipts, compaction)
    rows, named = await in_transaction(stores.engine, _delete_rows, school_id)
    redis_keys = erasure.purge_redis_keys(client, [school_id, *named])
    receipt: dict[str, Any] = {
        "school_id": str(school_id),
        "name": name,
        "deleted_at": utcnow().isoformat(),
        "students_erased": len(receipts),
        "erasure_receipts": [str(receipt_id) for receipt_id in receipts],
        "removed": {"postgresql": dict(sorted(rows.items())), "redis": {"keys_named_by_id": redis_keys}},
        "milvus_compaction": compaction,
        "kept": [
            "audit_event: the school's chain, this deletion's event last",
            "erasure_tombstone: one per erased student (keyed pseudonym, no personal data)",
        ],
    }
    await in_transaction(
        stores.engine, audit.record, operator, "school.delete", f"school:{school_id}", "ok", None, **receipt
    )
    return receipt


def _locked(session: Session, ref: str) -> School:
    school = find_school(session, ref)
    session.refresh(school, with_for_update=True)
    return school


def _students_of(session: Session, school_id: uuid.UUID) -> list[uuid.UUID]:
    return list(session.scalars(select(col(Student.id)).where(col(Student.school_id) == school_id)))


def _delete_rows(session: Session, school_id: uuid.UUID) -> tuple[Counter[str], list[uuid.UUID]]:
    """Every row left of the school (its students are erased by now), children first, then the school;
    the ids of its users and kiosks, whose Redis keys go next."""
    school = session.get(School, school_id, with_for_update=True)
    if school is None:
        raise NotFound(f"no school {school_id}", code="school_not_found")
    if session.scalar(select(func.count()).where(col(Student.school_id) == school_id)):
        raise Conflict("a student was added during the deletion; run it again", code="conflict")
    named = [
        *session.scalars(select(col(User.id)).where(col(User.school_id) == school_id)),
        *session.scalars(select(col(KioskKey.id)).where(col(KioskKey.school_id) == school_id)),
    ]
    rows: Counter[str] = Counter()
    where = col(School.id) == school_id
    erasure.purge_dependents(session, erasure.table_of(School), where, rows, skip=set())
    session.execute(delete(School).where(where))
    rows["school"] += 1
    return rows, named
