"""GDPR erasure (Art. 17): everything held about a student removed from every store in one operation, a
tombstone kept as proof, and a receipt of what was removed where.

It is the erasure command of ``services.privacy.consent`` (PostgreSQL, Redis and Milvus, compensated: nothing
is ever half-erased) with more done in its PostgreSQL transaction, under the student's row lock:
- every row that refers to the student, in any table, found from the schema's foreign keys (so a table added
  later is erased too without anyone remembering to), rows depending on those rows first, and counted;
- the student's sign-in account (its sign-ins ended), deleted, or emptied of personal data when other rows
  still name it;
- the disclosure log's entries keep who saw the record and why, with the student's id replaced by its
  keyed pseudonym;
- the tombstone: the pseudonym, school, who asked, when, and the receipt. No personal data.
Then the cached check-in answers naming the student and any other Redis key carrying one of their ids go, and
their vectors leave Milvus. If Redis or Milvus is down the whole command rolls back (503; nothing erased,
Milvus restored) and a retry starts again.

After the commit Milvus is compacted so the vectors are physically gone (waiting ``erase_compaction_wait_s``):
done, the tombstone is ``completed``; otherwise it stays ``erased`` and the retention job (or a repeated
request) finishes it. Erasing an erased student answers the stored receipt, so the command is idempotent, and
a request that failed half-way after the commit is finished by repeating it.

What is kept, and why it is not personal data: the tombstone; audit events (their student ids were keyed
pseudonyms from the start; actors are staff or kiosks); disclosure-log entries (pseudonymised). The key of the
pseudonyms (``id_hash_key``) is not in the database, and the id they were made from exists nowhere any more.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, cast

import redis
from sqlalchemy import ColumnElement, Table, delete, exc, func, select
from sqlmodel import Session, SQLModel, col

from app.core.enums import ErasureState, Role
from app.core.errors import NotFound
from app.db.tables import ErasureTombstone, Student, User, utcnow
from app.schemas.consent import WithdrawalResult
from app.schemas.privacy import ErasureReceipt
from app.services.biometrics.job_index import model_dims
from app.services.biometrics.stores import BiometricStores
from app.services.identity import access
from app.services.identity.auth import TokenFamilies
from app.services.identity.principal import Principal
from app.services.privacy import consent, disclosure
from app.services.uow import in_transaction

log = logging.getLogger(__name__)

ACTION = "student.erase"
KEPT = [
    "erasure_tombstone: this receipt (the student's keyed pseudonym, school, who asked, when)",
    "audit_event: events name the student by keyed pseudonym only",
    "disclosure_log: who saw or exported the record and why, the student id replaced by the pseudonym",
]


@dataclass
class _Erased:
    """What the PostgreSQL step removed (filled in its transaction; read after the commit)."""

    receipt_id: uuid.UUID = field(default_factory=uuid.uuid4)
    rows: Counter[str] = field(default_factory=Counter)
    accounts: list[uuid.UUID] = field(default_factory=list)
    sign_ins: int = 0
    redis_keys: int = 0
    subject: str = ""
    school_id: uuid.UUID | None = None
    models: dict[str, int] = field(default_factory=dict)
    cached_answers: int = 0


async def erase_student(
    stores: BiometricStores,
    client: redis.Redis,
    principal: Principal,
    student_id: uuid.UUID,
    request_id: str | None,
    *,
    compaction_wait_s: float,
) -> ErasureReceipt:
    """Erase the student everywhere (admins of their school); see the module docstring."""
    access.require_role(principal, Role.admin)
    subject = disclosure.subject_of(stores.engine, student_id)
    done = await in_transaction(stores.engine, _tombstone_of, principal.school_id, subject)
    if done is not None:
        return await _finish(stores, done.id, compaction_wait_s, replayed=True)
    # Which collections held the student's vectors: compaction (here or by the retention job) covers them.
    models = await in_transaction(stores.engine, model_dims, student_id)
    erased = _Erased(subject=subject, school_id=principal.school_id, models=models)

    def finish(session: Session, student: Student) -> None:
        erased.cached_answers = stores.cache.forget_student(student.id)  # before the sweep removes its index
        _erase_rows(session, principal, student, erased, client)

    try:
        result = await consent.erase_everywhere(
            stores, principal, student_id, request_id, action=ACTION, finish=finish
        )
    except NotFound:
        # Erased by a concurrent request while this one waited for the row lock: answer its receipt.
        done = await in_transaction(stores.engine, _tombstone_of, principal.school_id, subject)
        if done is None:
            raise
        return await _finish(stores, done.id, compaction_wait_s, replayed=True)
    await in_transaction(stores.engine, _write_receipt, erased, result)
    return await _finish(stores, erased.receipt_id, compaction_wait_s, replayed=False)


def _erase_rows(
    session: Session, principal: Principal, student: Student, erased: _Erased, client: redis.Redis
) -> None:
    """The PostgreSQL part (after ``consent``'s own: row locked, consents withdrawn, templates deleted), and
    the Redis keys named by the student's ids (a Redis failure rolls it all back, like the cache step)."""
    families = TokenFamilies(client, 1)

    def end_sign_ins(account_id: uuid.UUID) -> None:
        erased.sign_ins += families.revoke_user(account_id)

    erased.accounts = purge_student(session, student, erased.rows, end_sign_ins)
    # Keys named by an id: rate-limit counters, caches the check-in index does not list.
    erased.redis_keys = purge_redis_keys(client, [student.id, *erased.accounts])
    session.add(
        ErasureTombstone(
            id=erased.receipt_id,
            subject=erased.subject,
            school_id=student.school_id,
            requested_by=principal.actor,
            receipt={"removed": {"postgresql": dict(erased.rows)}, "milvus_models": erased.models},
        )
    )
    session.flush()


def purge_student(
    session: Session,
    student: Student,
    rows: Counter[str],
    on_account: Callable[[uuid.UUID], None] | None = None,
) -> list[uuid.UUID]:
    """Every PostgreSQL row of the student gone (the tombstone aside): what an erasure does in PostgreSQL,
    also re-applied after a restore (``services.operations.backup``). Returns the ids of the sign-in accounts
    removed."""
    rows["disclosure_log (pseudonymised)"] += disclosure.pseudonymise(session, student.id)
    purge_dependents(session, table_of(Student), col(Student.id) == student.id, rows, skip={"app_user"})
    accounts = []
    for account in list(session.scalars(select(User).where(col(User.student_id) == student.id))):
        accounts.append(account.id)
        if on_account is not None:
            on_account(account.id)
        purge_dependents(session, table_of(User), col(User.id) == account.id, rows, skip={"student"})
        _remove_account(session, account, rows)
    session.delete(student)
    session.flush()
    rows["student"] += 1
    return accounts


def _remove_account(session: Session, account: User, rows: Counter[str]) -> None:
    """Delete the student's sign-in account; when other rows still refer to it, keep the row empty instead."""
    try:
        with session.begin_nested():
            session.delete(account)
            session.flush()
        rows["app_user"] += 1
    except exc.IntegrityError:
        session.refresh(account)
        account.email = f"erased-{account.id.hex}@invalid"
        account.full_name = "(erased)"
        account.password_hash = "!"  # noqa: S105 - not a password: a hash no password matches
        account.totp_secret_enc = None
        account.mfa_enabled = False
        account.is_active = False
        account.student_id = None
        session.flush()
        rows["app_user (emptied)"] += 1


def dependents(table: Table) -> list[tuple[Table, Any, Any]]:
    """``(child table, its column, the referenced column of table)`` for every foreign key into ``table``."""
    found = []
    for child in SQLModel.metadata.sorted_tables:
        for key in child.foreign_keys:
            if key.column.table is table and child is not table:
                found.append((child, key.parent, key.column))
    return found


def table_of(model: type[SQLModel]) -> Table:
    """The model's table (SQLModel does not declare ``__table__`` to the type checker)."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


def purge_dependents(
    session: Session, table: Table, where: ColumnElement[bool], rows: Counter[str], *, skip: set[str]
) -> None:
    """Delete every row that depends on the rows of ``table`` matching ``where``, children first."""
    for child, column, referenced in dependents(table):
        if child.name in skip:
            continue
        child_where = column.in_(select(referenced).where(where))
        purge_dependents(session, child, child_where, rows, skip=skip | {table.name})
        deleted = session.execute(delete(child).where(child_where))
        rows[child.name] += int(getattr(deleted, "rowcount", 0) or 0)


def student_rows(session: Session, student_id: uuid.UUID) -> dict[str, int]:
    """Rows that still refer to the student, per table (the erasure test and the receipt's check)."""
    counts: Counter[str] = Counter()

    def count(table: Table, where: ColumnElement[bool], seen: set[str]) -> None:
        for child, column, referenced in dependents(table):
            if child.name in seen:
                continue
            child_where = column.in_(select(referenced).where(where))
            counts[child.name] += int(
                session.scalar(select(func.count()).select_from(child).where(child_where)) or 0
            )
            count(child, child_where, seen | {table.name})

    count(table_of(Student), col(Student.id) == student_id, set())
    counts["student"] += int(session.scalar(select(func.count()).where(col(Student.id) == student_id)) or 0)
    return {name: n for name, n in counts.items() if n}


def purge_redis_keys(client: redis.Redis, ids: Iterable[uuid.UUID]) -> int:
    """Delete every key whose name carries one of ``ids`` (SCAN, so Redis is never blocked)."""
    deleted = 0
    for value in ids:
        keys = list(client.scan_iter(match=f"*{value}*", count=1000))
        if keys:
            deleted += int(cast("int", client.delete(*keys)))
    return deleted


def _tombstone_of(session: Session, school_id: uuid.UUID, subject: str) -> ErasureTombstone | None:
    return session.scalars(
        select(ErasureTombstone).where(
            col(ErasureTombstone.subject) == subject, col(ErasureTombstone.school_id) == school_id
        )
    ).first()


def _write_receipt(session: Session, erased: _Erased, result: WithdrawalResult) -> None:
    tombstone = session.get(ErasureTombstone, erased.receipt_id, with_for_update=True)
    if tombstone is None:  # pragma: no cover - written in the same command, just committed
        raise NotFound("the erasure's tombstone vanished", code="erasure_not_found")
    postgresql = dict(erased.rows)
    postgresql["face_template"] = result.templates_deleted
    postgresql["consent (withdrawn, then deleted)"] = result.consents_withdrawn
    tombstone.receipt = {
        "removed": {
            "postgresql": {name: n for name, n in sorted(postgresql.items()) if n},
            "redis": {
                "checkin_answers": erased.cached_answers + result.cache_entries_deleted,
                "sign_in_token_families": erased.sign_ins,
                "keys_named_by_id": erased.redis_keys,
            },
            "milvus": {"vectors": result.vectors_deleted},
        },
        "milvus_compaction": "pending",
        "milvus_models": tombstone.receipt.get("milvus_models", {}),
    }
    session.flush()


async def _finish(
    stores: BiometricStores, receipt_id: uuid.UUID, wait_s: float, *, replayed: bool
) -> ErasureReceipt:
    """Compact Milvus if the tombstone still waits for it; the receipt as it stands then."""
    tombstone = await in_transaction(stores.engine, _get, receipt_id)
    if tombstone.state is ErasureState.erased:
        outcome = await compact(stores, wait_s)
        await in_transaction(stores.engine, mark_compacted, [receipt_id], outcome)
        tombstone = await in_transaction(stores.engine, _get, receipt_id)
    return receipt_of(tombstone, replayed=replayed)


async def compact(stores: BiometricStores, wait_s: float) -> str:
    """Milvus compaction, its failure (Milvus down after the erasure committed) reported, not raised."""
    try:
        return await stores.index.compact(wait_s)
    except Exception as exc:  # the erasure itself stands; the retention job compacts later
        log.warning("erasure: Milvus compaction failed (%s); the retention job retries", type(exc).__name__)
        return "pending"


def mark_compacted(session: Session, receipt_ids: list[uuid.UUID], outcome: str) -> ErasureTombstone | None:
    """Record a compaction's outcome on the tombstones it covered; the last one is returned."""
    tombstone: ErasureTombstone | None = None
    for receipt_id in receipt_ids:
        tombstone = session.get(ErasureTombstone, receipt_id, with_for_update=True)
        if tombstone is None or tombstone.state is ErasureState.completed:
            continue
        tombstone.receipt = {**tombstone.receipt, "milvus_compaction": outcome}
        if outcome in ("completed", "unsupported"):
            tombstone.state = ErasureState.completed
            tombstone.completed_at = utcnow()
    session.flush()
    return tombstone


def _get(session: Session, receipt_id: uuid.UUID) -> ErasureTombstone:
    tombstone = session.get(ErasureTombstone, receipt_id)
    if tombstone is None:
        raise NotFound(f"no erasure {receipt_id}", code="erasure_not_found", id=str(receipt_id))
    return tombstone


def receipt_of(tombstone: ErasureTombstone, *, replayed: bool = False) -> ErasureReceipt:
    return ErasureReceipt(
        receipt_id=tombstone.id,
        subject=f"student:{tombstone.subject}",
        school_id=tombstone.school_id,
        requested_by=tombstone.requested_by,
        requested_at=tombstone.requested_at,
        state=tombstone.state,
        completed_at=tombstone.completed_at,
        removed=tombstone.receipt.get("removed", {}),
        milvus_compaction=str(tombstone.receipt.get("milvus_compaction", "pending")),
        kept=KEPT,
        replayed=replayed,
    )


def list_receipts(session: Session, principal: Principal, limit: int = 100) -> list[ErasureTombstone]:
    access.require_role(principal, Role.admin)
    query = (
        select(ErasureTombstone)
        .where(col(ErasureTombstone.school_id) == principal.school_id)
        .order_by(col(ErasureTombstone.requested_at).desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def get_receipt(session: Session, principal: Principal, receipt_id: uuid.UUID) -> ErasureTombstone:
    access.require_role(principal, Role.admin)
    tombstone = session.get(ErasureTombstone, receipt_id)
    if tombstone is None or tombstone.school_id != principal.school_id:
        raise NotFound(f"no erasure {receipt_id}", code="erasure_not_found", id=str(receipt_id))
    return tombstone


def pending(session: Session) -> list[uuid.UUID]:
    """Tombstones whose Milvus compaction is still to be done (the retention job's work list)."""
    return list(
        session.scalars(
            select(col(ErasureTombstone.id)).where(col(ErasureTombstone.state) == ErasureState.erased)
        )
    )
