"""The audit trail: append-only, hash-chained, with student ids pseudonymised by a keyed HMAC.

Every biometric and administrative action calls ``record`` inside the transaction that performs it, so the
event commits with the change it describes or not at all.

The chain: each event's ``hash`` is an HMAC over its content and the previous event's hash. Editing, deleting
or reordering any event breaks every link after it, and ``verify_chain`` finds the first broken one. The HMAC
key (derived from ``id_hash_key``) is not in the database, so someone with write access to PostgreSQL cannot
recompute a consistent chain after tampering. Truncating the newest events leaves a valid shorter chain:
``verify_chain`` reports the head hash and count so an external monitor can pin them.

One chain per school (and one for events of no school): an event links to the previous event of its own
school, so a check-in in one school never waits for a write in another, and a school's admins verify their
own chain without reading anyone else's. Events written before per-school chains (``chain = "global"``,
migration 0010) stay linked as they were, one line through every school; ``verify_chain`` checks those
links too, and a school's first per-school event links to its last such event.

Concurrency: appends take a transaction-level advisory lock of their school's chain before reading its
previous hash, so concurrent transactions of one school append one after another (the lock is held until
commit or rollback) and each chain stays one line. A rolled-back append leaves a gap in ``seq`` but no broken
link.

Numbering: ``seq`` is the installation's one sequence, so its gaps would tell a school how busy the others
are. Each event of a school also gets ``school_seq``, the previous event's plus one, read under the same lock:
the school's own count, without gaps (a rolled-back append gives its number back). Schools see, page and
verify by it; events of no school have none (migration 0012 numbered the events before it).

Reading: admins see actors and targets by name (``names_of``), resolved in their own school only, so an id of
another school, or of a row since deleted, stays as written, and an erased student is only "erased student".

Pseudonyms: a ``target`` of the form ``student:<uuid>`` and detail values under ``student_id``,
``student_ids`` or any key ending in ``_student_id`` are replaced by ``student:<hmac>`` (``pseudonym``), the
same token for the same student, so an admin can still ask for one student's events.

Keys: they travel with the engine (``with_keys``, which ``app.container.build_container`` applies to the
engine it builds, as a SQLAlchemy execution option), so every session on it writes and reads the trail with
the keys of the settings that process was given, and no module state is involved: an engine without them is
refused (``keys_of``) rather than writing a chain no one can verify.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, text
from sqlmodel import Session, col, select

from app.core.crypto import IdHasher
from app.db.tables import (
    AUDIT_CHAIN_GLOBAL,
    AUDIT_CHAIN_SCHOOL,
    AuditEvent,
    ErasureTombstone,
    KioskKey,
    Lesson,
    School,
    SchoolClass,
    Student,
    User,
    utcnow,
)
from app.schemas.audit import AuditEventPublic
from app.services.identity.principal import Principal

GENESIS_HASH = "0" * 64
#: First key of a chain's pg_advisory_xact_lock(int, int) ("audt" in ASCII); the second is the school's hash.
CHAIN_LOCK_CLASS = 0x61756474
SYSTEM_ACTOR = "system"
_STUDENT_TARGET = re.compile(r"^student:([0-9a-fA-F-]{32,36})$")
_ACTOR = re.compile(r"^(user|kiosk):([0-9a-fA-F-]{32,36})$")


@dataclass(frozen=True)
class AuditKeys:
    """The two keys the trail needs: pseudonyms for student ids, and the chain's HMAC key."""

    ids: IdHasher
    chain: bytes

    @classmethod
    def from_id_key(cls, id_hash_key: str) -> AuditKeys:
        ids = IdHasher(id_hash_key.encode("utf-8"))
        return cls(ids=ids, chain=ids.derive("audit-chain"))


#: The engine execution option that carries the trail's keys.
KEYS_OPTION = "rollcall_audit_keys"


def with_keys(engine: Engine, keys: AuditKeys) -> Engine:
    """``engine`` (sharing its pool) whose sessions write and read the trail with ``keys``."""
    return engine.execution_options(**{KEYS_OPTION: keys})


def keys_of(bind: Session | Engine) -> AuditKeys:
    """The keys of the engine a session (or the engine itself) runs on."""
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    found = engine.get_execution_options().get(KEYS_OPTION)
    if not isinstance(found, AuditKeys):
        raise RuntimeError("this engine carries no audit keys: build it with app.container.build_container")
    return found


def pseudonym(bind: Session | Engine, student_id: uuid.UUID | str) -> str:
    """How a student appears in logs and the audit trail: stable, and meaningless without the key."""
    return f"student:{keys_of(bind).ids.hash_id(student_id)}"


def record(
    session: Session,
    /,
    actor: Principal | str,
    action: str,
    target: str | None = None,
    result: str = "ok",
    request_id: str | None = None,
    **details: Any,
) -> AuditEvent:
    """Append one event in the caller's transaction (flushed, so it holds the chain lock until commit).

    ``actor`` is a ``Principal`` or an actor string (``"user:<id>"``, ``"kiosk:<id>"``, ``"system"``);
    ``school_id=`` in ``details`` names the school explicitly, else it comes from the principal or the actor's
    row. ``result`` is ``"ok"``, ``"denied"`` or ``"error"``.
    """
    audit_keys = keys_of(session)
    school_id = details.pop("school_id", None)
    if isinstance(actor, Principal):
        school_id = school_id or actor.school_id
        actor_name = actor.actor
    else:
        actor_name = actor
        school_id = school_id or _school_of_actor(session, actor)
    clean = _json_safe(_pseudonymised(details, audit_keys.ids))
    school = uuid.UUID(str(school_id)) if school_id else None
    session.execute(
        text("SELECT pg_advisory_xact_lock(:chain, hashtext(:school))"),
        {"chain": CHAIN_LOCK_CLASS, "school": str(school)},
    )
    previous = session.exec(
        select(AuditEvent.hash, AuditEvent.school_seq)
        .where(_of_school(school))
        .order_by(col(AuditEvent.seq).desc())
        .limit(1)
    ).first()
    previous_hash, previous_number = previous if previous is not None else (GENESIS_HASH, 0)
    event = AuditEvent(
        at=utcnow(),
        school_id=school,
        actor=actor_name[:64],
        action=action[:64],
        target=_pseudonymised_target(target, audit_keys.ids),
        result=result[:16],
        request_id=request_id[:64] if request_id else None,
        details=clean,
        prev_hash=previous_hash,
        hash="",
        chain=AUDIT_CHAIN_SCHOOL,
        school_seq=(previous_number or 0) + 1 if school is not None else None,
    )
    event.hash = chain_hash(audit_keys.chain, event)
    session.add(event)
    session.flush()
    return event


def chain_hash(key: bytes, event: AuditEvent) -> str:
    """HMAC-SHA256 over the previous hash and the event's canonical JSON (``seq`` and ``school_seq``
    excluded: the link to the previous hash already fixes the order)."""
    content = {
        "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "school_id": str(event.school_id) if event.school_id else None,
        "actor": event.actor,
        "action": event.action,
        "target": event.target,
        "result": event.result,
        "request_id": event.request_id,
        "details": event.details,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    message = f"{event.prev_hash}\n{canonical}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    events: int
    head_hash: str
    first_broken_seq: int | None = None
    #: The same event by its number in the school's trail (what the school is shown); None for no school.
    first_broken_school_seq: int | None = None
    problem: str | None = None


def verify_chain(session: Session, school_id: uuid.UUID | None, batch: int = 1000) -> ChainReport:
    """Walk one school's chain (``None``: the events of no school) in order and check every link and every
    hash; its events from before per-school chains are checked against the one line they were written in.
    A school's events must also be numbered 1, 2, ... in that order (``school_seq``, which the hash does not
    cover): pages by number must show every event once."""
    chain_key = keys_of(session).chain
    global_prev = _global_links(session, school_id)
    expected_prev = GENESIS_HASH
    count = 0
    rows = session.exec(
        select(AuditEvent).where(_of_school(school_id)).order_by(col(AuditEvent.seq))
    ).yield_per(batch)
    for event in rows:
        count += 1
        linked_to = global_prev.get(event.seq) if event.chain == AUDIT_CHAIN_GLOBAL else expected_prev
        problem = None
        if event.prev_hash != linked_to:
            problem = "the link to the previous event broke"
        elif not hmac.compare_digest(event.hash, chain_hash(chain_key, event)):
            problem = "the event's content was changed"
        elif school_id is not None and event.school_seq != count:
            problem = "the school's numbering of its events broke"
        if problem is not None:
            return ChainReport(False, count, expected_prev, event.seq, event.school_seq, problem)
        expected_prev = event.hash
    return ChainReport(True, count, expected_prev)


def _global_links(session: Session, school_id: uuid.UUID | None) -> dict[int | None, str]:
    """``seq -> hash of the event before it`` for the school's events of the one global line (written before
    per-school chains), from a window over that whole line: only hashes of other schools' events are read."""
    line = (
        select(
            col(AuditEvent.seq),
            col(AuditEvent.school_id),
            func.coalesce(func.lag(AuditEvent.hash).over(order_by=col(AuditEvent.seq)), GENESIS_HASH).label(
                "before"
            ),
        )
        .where(col(AuditEvent.chain) == AUDIT_CHAIN_GLOBAL)
        .subquery()
    )
    school = line.c.school_id.is_(None) if school_id is None else line.c.school_id == school_id
    return {seq: before for seq, before in session.execute(select(line.c.seq, line.c.before).where(school))}


def _of_school(school_id: uuid.UUID | None) -> Any:
    """The filter of one school's events (``None``: events of no school)."""
    return (
        col(AuditEvent.school_id).is_(None) if school_id is None else col(AuditEvent.school_id) == school_id
    )


@dataclass(frozen=True, slots=True)
class EventFilter:
    action: str | None = None
    actor: str | None = None
    target: str | None = None
    student_id: uuid.UUID | None = None
    result: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_seq: int | None = None  # the school's number (``school_seq``)
    limit: int = 100


def list_events(session: Session, principal: Principal, where: EventFilter) -> list[AuditEvent]:
    """The caller's school's events, newest first (page on with ``before_seq`` = the last ``school_seq``
    seen)."""
    query = select(AuditEvent).where(AuditEvent.school_id == principal.school_id)
    if where.action:
        query = query.where(AuditEvent.action == where.action)
    if where.actor:
        query = query.where(AuditEvent.actor == where.actor)
    if where.student_id is not None:
        query = query.where(AuditEvent.target == pseudonym(session, where.student_id))
    elif where.target:
        query = query.where(AuditEvent.target == _pseudonymised_target(where.target, keys_of(session).ids))
    if where.result:
        query = query.where(AuditEvent.result == where.result)
    if where.since:
        query = query.where(AuditEvent.at >= where.since)
    if where.until:
        query = query.where(AuditEvent.at < where.until)
    if where.before_seq is not None:
        query = query.where(col(AuditEvent.school_seq) < where.before_seq)
    return list(session.exec(query.order_by(col(AuditEvent.school_seq).desc()).limit(where.limit)))


def shown_events(session: Session, principal: Principal, where: EventFilter) -> list[AuditEventPublic]:
    """``list_events`` as the school's admins see them: numbered by ``school_seq`` (never the installation's
    ``seq``), actors and targets named (``names_of``)."""
    events = list_events(session, principal, where)
    names = names_of(session, principal.school_id, [ref for e in events for ref in (e.actor, e.target)])
    return [_shown(event, names) for event in events]


def _shown(event: AuditEvent, names: dict[str, str]) -> AuditEventPublic:
    if event.school_seq is None:  # record() numbers every event of a school, migration 0012 the older ones
        raise RuntimeError(f"audit event {event.seq} of a school has no school_seq")
    return AuditEventPublic(
        seq=event.school_seq,
        at=event.at,
        school_id=event.school_id,
        actor=event.actor,
        actor_name=names.get(event.actor),
        action=event.action,
        target=event.target,
        target_name=names.get(event.target) if event.target else None,
        result=event.result,
        request_id=event.request_id,
        details=event.details,
        prev_hash=event.prev_hash,
        hash=event.hash,
    )


#: How the events of an erased student name them: the id is gone, and a pseudonym means nothing to a reader.
ERASED_STUDENT = "erased student"
_REFERENCE = re.compile(r"^(user|kiosk|student|class|lesson|school):(.+)$")


def names_of(session: Session, school_id: uuid.UUID, references: Iterable[str | None]) -> dict[str, str]:
    """Readable names of actor and target references (``user:<id>``, ``kiosk:<id>``, ``student:<pseudonym>``,
    ``class:<id>``, ``lesson:<id>``, ``school:<id>``) for the school's admins: users' full names, kiosks'
    names and rooms, students' display names, class codes and names, a lesson's class and local start, the
    school's name. Only rows of ``school_id`` are read, so a reference to anything else gets no entry, and an
    erased student (found by the tombstone of their pseudonym) gets ``ERASED_STUDENT``, never a name."""
    wanted: dict[str, set[str]] = {}
    for reference in references:
        match = _REFERENCE.match(reference or "")
        if match is not None:
            wanted.setdefault(match.group(1), set()).add(match.group(2))
    ids = {kind: _uuids(values) for kind, values in wanted.items() if kind != "student"}
    found: dict[str, str] = {}
    if ids.get("user"):
        query = select(User.id, User.full_name).where(
            col(User.id).in_(ids["user"]), User.school_id == school_id
        )
        found |= {f"user:{row_id}": name for row_id, name in session.exec(query)}
    if ids.get("kiosk"):
        kiosks = select(KioskKey.id, KioskKey.name, KioskKey.room).where(
            col(KioskKey.id).in_(ids["kiosk"]), KioskKey.school_id == school_id
        )
        found |= {f"kiosk:{row_id}": f"{name} ({room})" for row_id, name, room in session.exec(kiosks)}
    if ids.get("class"):
        classes = select(SchoolClass.id, SchoolClass.code, SchoolClass.name).where(
            col(SchoolClass.id).in_(ids["class"]), SchoolClass.school_id == school_id
        )
        found |= {f"class:{row_id}": _class_name(code, name) for row_id, code, name in session.exec(classes)}
    school = session.get(School, school_id)
    if school is not None and school_id in ids.get("school", set()):
        found[f"school:{school_id}"] = school.name
    if school is not None and ids.get("lesson"):
        lessons = (
            select(Lesson.id, Lesson.starts_at, SchoolClass.code)
            .join(SchoolClass, col(SchoolClass.id) == Lesson.class_id)
            .where(col(Lesson.id).in_(ids["lesson"]), SchoolClass.school_id == school_id)
        )
        zone = ZoneInfo(school.timezone)
        found |= {
            f"lesson:{row_id}": f"{code} {starts.astimezone(zone):%Y-%m-%d %H:%M}"
            for row_id, starts, code in session.exec(lessons)
        }
    if wanted.get("student"):
        found |= _student_names(session, school_id, wanted["student"])
    return found


def _student_names(session: Session, school_id: uuid.UUID, pseudonyms: set[str]) -> dict[str, str]:
    """Pseudonyms can only be matched forwards: each student of the school is hashed (one HMAC each, the
    keyed hash that made the pseudonyms) and kept if wanted; the rest are looked up among the tombstones."""
    ids = keys_of(session).ids
    found: dict[str, str] = {}
    students = select(Student.id, Student.display_name).where(Student.school_id == school_id)
    for student_id, display_name in session.exec(students):
        token = ids.hash_id(student_id)
        if token in pseudonyms:
            found[f"student:{token}"] = display_name
    rest = pseudonyms - {reference.removeprefix("student:") for reference in found}
    if rest:
        erased = select(ErasureTombstone.subject).where(
            col(ErasureTombstone.subject).in_(rest), ErasureTombstone.school_id == school_id
        )
        found |= {f"student:{subject}": ERASED_STUDENT for subject in session.exec(erased)}
    return found


def _class_name(code: str, name: str) -> str:
    return code if name == code else f"{code} ({name})"


def _uuids(values: Iterable[str]) -> set[uuid.UUID]:
    """The values that are ids (anything else in a reference cannot name a row)."""
    parsed = set()
    for value in values:
        try:
            parsed.add(uuid.UUID(value))
        except ValueError:
            continue
    return parsed


def _school_of_actor(session: Session, actor: str) -> uuid.UUID | None:
    """The school of a ``user:``/``kiosk:`` actor string (a primary-key read), so every event is scoped."""
    match = _ACTOR.match(actor)
    if match is None:
        return None
    row_id = uuid.UUID(match.group(2))
    row = session.get(User, row_id) if match.group(1) == "user" else session.get(KioskKey, row_id)
    return row.school_id if row is not None else None


def _pseudonymised_target(target: str | None, ids: IdHasher) -> str | None:
    if target is None:
        return None
    match = _STUDENT_TARGET.match(target)
    return f"student:{ids.hash_id(match.group(1))}" if match else target[:128]


def _is_student_key(name: str) -> bool:
    return name in ("student_id", "student_ids") or name.endswith("_student_id")


def _pseudonymised(value: Any, ids: IdHasher, key: str = "") -> Any:
    """``value`` with every student id (by key name, at any depth) replaced by its pseudonym."""
    if isinstance(value, dict):
        return {k: _pseudonymised(v, ids, str(k)) for k, v in value.items()}
    if _is_student_key(key):
        if isinstance(value, str | uuid.UUID):
            return f"student:{ids.hash_id(value)}"
        if isinstance(value, Iterable) and not isinstance(value, bytes):
            return [f"student:{ids.hash_id(item)}" for item in value]
    if isinstance(value, list | tuple | set | frozenset):
        return [_pseudonymised(item, ids) for item in value]
    return value


def _json_safe(details: dict[str, Any]) -> dict[str, Any]:
    """Exactly what the JSON column will give back (UUIDs, dates, enums as strings), so the hash computed
    now matches the one recomputed from the stored row."""
    safe: dict[str, Any] = json.loads(json.dumps(details, default=str, ensure_ascii=False))
    return safe
