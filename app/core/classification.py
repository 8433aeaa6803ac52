"""Data classification: every column of every table, with its sensitivity, in one place.

Levels (what each demands is in docs/PRIVACY.md, "Data classification"):
- ``public``: may be published (a school's name).
- ``internal``: identifiers, timestamps, settings and states that mean nothing about a person outside the
  system; still not for publication.
- ``confidential``: personal data and education records (names, contact details, attendance): need to know,
  every disclosure of a student's record logged (``services.privacy.disclosure``), erased on request.
- ``restricted``: biometric data, credentials and secrets: stored only encrypted (AES-256-GCM, key id beside
  it) or hashed, never exported, never logged, erased everywhere in one operation.

``personal`` marks data about an identifiable person (GDPR); ``ferpa`` sorts the student record's own fields
into directory information (names, student number, whether they attend) and the rest (birth date, guardian
contact, biometric enrollment). Listings and teachers see directory fields and the non-directory fields staff
need for their job (``limited_view``); the full record is shown one student at a time, and each such view
by staff is logged (FERPA's record of disclosures).

The table in docs/PRIVACY.md is generated from this module (``python -m app.core.classification --write``),
and tests check that every column is classified here and that the document matches.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import MetaData


class Level(StrEnum):
    public = "public"
    internal = "internal"
    confidential = "confidential"
    restricted = "restricted"


class Ferpa(StrEnum):
    directory = "directory"
    non_directory = "non-directory"


@dataclass(frozen=True, slots=True)
class Classified:
    level: Level
    note: str = ""
    personal: bool = False
    ferpa: Ferpa | None = None
    #: Shown in limited views (listings, teachers): directory and internal fields always; a non-directory
    #: field only when staff need it for their work.
    limited_view: bool = True


@dataclass(frozen=True, slots=True)
class TableInfo:
    holds: str
    retention: str


PUB, INT, CONF, RESTR = Level.public, Level.internal, Level.confidential, Level.restricted
DIR, NONDIR = Ferpa.directory, Ferpa.non_directory


def c(
    level: Level,
    note: str = "",
    *,
    personal: bool = False,
    ferpa: Ferpa | None = None,
    limited_view: bool = True,
) -> Classified:
    return Classified(level, note, personal, ferpa, limited_view)


_ID = c(INT, "row id (UUID)")
_SCHOOL = c(INT, "tenant")
_CREATED = c(INT, "when the row was made")
_STUDENT_REF = c(CONF, "whose record", personal=True)

TABLES: dict[str, TableInfo] = {
    "school": TableInfo("the tenant", "while the school uses Rollcall"),
    "app_user": TableInfo(
        "people who sign in (admins, teachers, students)",
        "deactivated, not deleted (records they made name them); a student's account goes with their erasure",
    ),
    "kiosk_key": TableInfo("kiosk API keys (prefix and hash only)", "revoked, kept for the audit trail"),
    "student": TableInfo("the student record", "until erased (request, or the school's leaver policy)"),
    "school_class": TableInfo("classes", "while used"),
    "class_member": TableInfo("class rosters", "with the student"),
    "lesson": TableInfo("lessons", "while used"),
    "consent": TableInfo(
        "biometric consent given, by whom, withdrawn when", "with the student (history kept after withdrawal)"
    ),
    "face_template": TableInfo(
        "enrolled face vectors and their aligned face crops, encrypted",
        "until consent is withdrawn, the student leaves, or erasure",
    ),
    "attendance": TableInfo("attendance records in daily use", "archived after 2 years (configurable)"),
    "attendance_change": TableInfo(
        "corrections of attendance", "with their record (folded into the archive)"
    ),
    "attendance_archive": TableInfo(
        "attendance older than the archive age, corrections folded in", "deleted after 7 years (configurable)"
    ),
    "checkin_code": TableInfo("one-time check-in codes (hashed)", "with the student"),
    "audit_event": TableInfo(
        "hash-chained audit trail, student ids pseudonymised", "append-only; pseudonymous after erasure"
    ),
    "erasure_tombstone": TableInfo(
        "proof of an erasure: pseudonym, school, who, when, receipt", "kept (no personal data)"
    ),
    "disclosure_log": TableInfo(
        "FERPA record of disclosures: who saw or exported whose record, why",
        "with the student's record; pseudonymised at erasure",
    ),
    "review_frame": TableInfo(
        "frames of failed check-ins kept for review (off by default), encrypted", "24 hours at most"
    ),
    "notification_settings": TableInfo("per-school quiet hours and language", "while the school exists"),
    "notification_contact": TableInfo(
        "who is notified how (guardians, staff)", "until removed; with the student"
    ),
    "notification_event": TableInfo("notification outbox", "with the student"),
    "notification_delivery": TableInfo("one message to one contact, its attempts", "with its event"),
}

CLASSIFICATION: dict[str, dict[str, Classified]] = {
    "school": {
        "id": _ID,
        "name": c(PUB, "the school's name"),
        "timezone": c(INT),
        "colour_challenge": c(INT, "whether kiosks light faces with a colour sequence (liveness setting)"),
        "liveness": c(INT, "whether kiosks check liveness (the admin's switch)"),
        "suspended_at": c(INT, "when the installation's operator suspended the school"),
        "created_at": _CREATED,
    },
    "app_user": {
        "id": _ID,
        "school_id": _SCHOOL,
        "email": c(CONF, "sign-in name", personal=True),
        "full_name": c(CONF, personal=True),
        "role": c(INT),
        "password_hash": c(RESTR, "argon2id hash", personal=True),
        "totp_secret_enc": c(RESTR, "TOTP secret, AES-256-GCM", personal=True),
        "mfa_enabled": c(INT),
        "student_id": c(CONF, "the student this account belongs to", personal=True),
        "is_active": c(INT),
        "created_at": _CREATED,
    },
    "kiosk_key": {
        "id": _ID,
        "school_id": _SCHOOL,
        "room": c(INT),
        "name": c(INT),
        "prefix": c(INT, "finds the key; not a secret by itself"),
        "key_hash": c(RESTR, "argon2id hash of the API key"),
        "created_by": c(INT, "admin's user id"),
        "created_at": _CREATED,
        "revoked_at": c(INT),
        "last_used_at": c(INT),
    },
    "student": {
        "id": c(INT, "record id (UUID)"),
        "school_id": _SCHOOL,
        "student_number": c(CONF, "the school's id for the student", personal=True, ferpa=DIR),
        "first_name": c(CONF, personal=True, ferpa=DIR),
        "last_name": c(CONF, personal=True, ferpa=DIR),
        "display_name": c(CONF, "shown at the kiosk", personal=True, ferpa=DIR),
        "birth_date": c(CONF, "decides who must consent", personal=True, ferpa=NONDIR, limited_view=False),
        "guardian_email": c(CONF, "guardian's contact", personal=True, ferpa=NONDIR, limited_view=False),
        "active": c(CONF, "attends the school (false: left)", personal=True, ferpa=DIR),
        "enrollment_status": c(
            CONF, "biometric enrollment state; staff run enrollment", personal=True, ferpa=NONDIR
        ),
        "created_at": _CREATED,
        "updated_at": c(INT),
    },
    "school_class": {
        "id": _ID,
        "school_id": _SCHOOL,
        "code": c(INT),
        "name": c(INT),
        "teacher_id": c(INT, "teacher's user id"),
        "room": c(INT),
        "created_at": _CREATED,
    },
    "class_member": {
        "class_id": c(INT),
        "student_id": _STUDENT_REF,
        "added_at": c(CONF, "part of the student's record", personal=True),
    },
    "lesson": {
        "id": _ID,
        "class_id": c(INT),
        "starts_at": c(INT),
        "ends_at": c(INT),
        "grace_minutes": c(INT),
        "room": c(INT),
        "closed_at": c(INT),
    },
    "consent": {
        "id": _ID,
        "student_id": _STUDENT_REF,
        "version": c(CONF, "consent text agreed to", personal=True),
        "granted_by_name": c(CONF, "the student or their guardian", personal=True),
        "granted_by_relation": c(CONF, personal=True),
        "recorded_by": c(INT, "staff user id"),
        "granted_at": c(CONF, personal=True),
        "withdrawn_at": c(CONF, personal=True),
    },
    "face_template": {
        "id": _ID,
        "student_id": _STUDENT_REF,
        "school_id": _SCHOOL,
        "model_id": c(INT, "embedding model version"),
        "key_id": c(INT, "which key sealed the template"),
        "ciphertext": c(RESTR, "biometric template, AES-256-GCM", personal=True),
        "crop_sealed": c(RESTR, "aligned face crop of the enrolled photo, AES-256-GCM", personal=True),
        "vector_id": c(INT, "the Milvus copy's id"),
        "quality": c(CONF, "quality figures of the enrolled photo", personal=True),
        "created_at": c(CONF, "when enrolled", personal=True),
    },
    "attendance": {
        "id": _ID,
        "lesson_id": c(INT),
        "student_id": _STUDENT_REF,
        "status": c(CONF, "education record", personal=True),
        "method": c(CONF, personal=True),
        "confidence": c(CONF, "match score (derived from the face)", personal=True),
        "liveness_checked": c(CONF, "whether the face check-in passed liveness", personal=True),
        "recorded_at": c(CONF, personal=True),
        "recorded_by": c(INT, "user or kiosk"),
        "idempotency_key": c(INT),
    },
    "attendance_change": {
        "id": _ID,
        "attendance_id": c(INT),
        "changed_by": c(INT, "user"),
        "changed_at": c(CONF, personal=True),
        "old_status": c(CONF, personal=True),
        "new_status": c(CONF, personal=True),
        "reason": c(CONF, "free text about the student", personal=True),
    },
    "attendance_archive": {
        "id": c(INT, "the record's former id"),
        "school_id": _SCHOOL,
        "student_id": _STUDENT_REF,
        "lesson_id": c(INT),
        "class_id": c(INT),
        "lesson_starts_at": c(CONF, personal=True),
        "status": c(CONF, "education record", personal=True),
        "method": c(CONF, personal=True),
        "confidence": c(CONF, personal=True),
        "recorded_at": c(CONF, personal=True),
        "recorded_by": c(INT),
        "changes": c(CONF, "corrections, with their reasons", personal=True),
        "archived_at": c(INT),
    },
    "checkin_code": {
        "id": _ID,
        "lesson_id": c(INT),
        "student_id": _STUDENT_REF,
        "code_hash": c(RESTR, "hash of a one-time code"),
        "created_by": c(INT),
        "expires_at": c(INT),
        "used_at": c(CONF, personal=True),
    },
    "audit_event": {
        "seq": c(INT),
        "at": c(INT),
        "school_id": _SCHOOL,
        "actor": c(INT, "user:<id>, kiosk:<id> or system"),
        "action": c(INT),
        "target": c(INT, "students as keyed pseudonyms"),
        "result": c(INT),
        "request_id": c(INT),
        "details": c(INT, "counts and codes; student ids pseudonymised"),
        "prev_hash": c(INT),
        "hash": c(INT),
        "chain": c(INT, "the school's own chain, or the one line of events from before per-school chains"),
        "school_seq": c(INT, "the event's number in its school's own trail"),
    },
    "erasure_tombstone": {
        "id": c(INT, "receipt id"),
        "subject": c(INT, "keyed pseudonym of the erased id"),
        "school_id": _SCHOOL,
        "requested_by": c(INT),
        "requested_at": c(INT),
        "state": c(INT),
        "completed_at": c(INT),
        "receipt": c(INT, "counts per store"),
    },
    "disclosure_log": {
        "id": _ID,
        "school_id": _SCHOOL,
        "student_id": c(CONF, "whose record; None after erasure", personal=True),
        "subject": c(INT, "keyed pseudonym of the student"),
        "actor": c(INT, "user id"),
        "actor_role": c(INT),
        "action": c(INT),
        "scope": c(INT),
        "categories": c(INT),
        "purpose": c(CONF, "stated purpose", personal=True),
        "request_id": c(INT),
        "at": c(INT),
    },
    "review_frame": {
        "id": _ID,
        "school_id": _SCHOOL,
        "kiosk_id": c(INT),
        "lesson_id": c(INT),
        "reason": c(INT),
        "media_type": c(INT),
        "key_id": c(INT),
        "ciphertext": c(RESTR, "camera frame (faces), AES-256-GCM", personal=True),
        "captured_at": c(INT),
        "expires_at": c(INT),
    },
    "notification_settings": {
        "school_id": _SCHOOL,
        "quiet_start": c(INT),
        "quiet_end": c(INT),
        "language": c(INT),
    },
    "notification_contact": {
        "id": _ID,
        "school_id": _SCHOOL,
        "student_id": _STUDENT_REF,
        "user_id": c(INT),
        "name": c(CONF, "guardian or staff name", personal=True),
        "language": c(INT),
        "email": c(CONF, personal=True),
        "phone": c(CONF, personal=True),
        "push_topic": c(CONF, "addresses one person's device", personal=True),
        "webhook_url": c(INT, "school system endpoint"),
        "webhook_secret_enc": c(RESTR, "signing secret, sealed"),
        "channels": c(INT),
        "topics": c(INT),
        "created_at": _CREATED,
    },
    "notification_event": {
        "id": _ID,
        "school_id": _SCHOOL,
        "kind": c(INT),
        "dedupe_key": c(INT),
        "student_id": _STUDENT_REF,
        "lesson_id": c(INT),
        "payload": c(CONF, "what the message says about the student", personal=True),
        "created_at": _CREATED,
        "fanned_out_at": c(INT),
    },
    "notification_delivery": {
        "id": _ID,
        "event_id": c(INT),
        "contact_id": c(INT),
        "school_id": _SCHOOL,
        "channel": c(INT),
        "idempotency_key": c(INT),
        "status": c(INT),
        "attempts": c(INT),
        "next_attempt_at": c(INT),
        "last_error": c(INT),
        "sent_at": c(INT),
        "created_at": _CREATED,
    },
}


def classify(table: str, column: str) -> Classified:
    """The classification of ``table.column``; KeyError for a column nobody classified (a test prevents)."""
    return CLASSIFICATION[table][column]


def problems(metadata: MetaData) -> list[str]:
    """Columns without a classification, tables without an inventory entry, and entries for nothing."""
    found: list[str] = []
    tables = {table.name: table for table in metadata.sorted_tables}
    for name, table in tables.items():
        if name not in TABLES:
            found.append(f"table {name} has no entry in TABLES")
        known = CLASSIFICATION.get(name, {})
        found.extend(f"{name}.{col.name} is not classified" for col in table.columns if col.name not in known)
        found.extend(
            f"{name}.{column} is classified but does not exist"
            for column in known
            if column not in table.columns
        )
    found.extend(f"{name} is classified but is not a table" for name in CLASSIFICATION if name not in tables)
    found.extend(f"{name} is in TABLES but is not a table" for name in TABLES if name not in tables)
    return found


def fields(table: str, *, level: Level | None = None, ferpa: Ferpa | None = None) -> frozenset[str]:
    return frozenset(
        column
        for column, info in CLASSIFICATION[table].items()
        if (level is None or info.level is level) and (ferpa is None or info.ferpa is ferpa)
    )


#: Student fields left out of limited views (listings, teachers): non-directory, and not needed by staff.
STUDENT_WITHHELD_FROM_LIMITED: frozenset[str] = frozenset(
    column for column, info in CLASSIFICATION["student"].items() if not info.limited_view
)

BEGIN_MARK = "<!-- classification:begin (generated by `python -m app.core.classification --write`) -->"
END_MARK = "<!-- classification:end -->"


def render_markdown() -> str:
    """The inventory and the per-column table, as docs/PRIVACY.md shows them."""
    lines = ["| table | holds | kept |", "|---|---|---|"]
    lines += [f"| `{name}` | {info.holds} | {info.retention} |" for name, info in TABLES.items()]
    lines += ["", "| column | level | personal | FERPA | note |", "|---|---|---|---|---|"]
    for table, columns in CLASSIFICATION.items():
        for column, info in columns.items():
            ferpa = info.ferpa.value if info.ferpa else ""
            if info.ferpa is Ferpa.non_directory and not info.limited_view:
                ferpa += " (full view only)"
            personal = "yes" if info.personal else ""
            lines.append(f"| `{table}.{column}` | {info.level.value} | {personal} | {ferpa} | {info.note} |")
    return "\n".join(lines) + "\n"


def with_table(document: str) -> str:
    """``document`` with the generated part between the markers replaced by ``render_markdown()``."""
    head, begin, rest = document.partition(BEGIN_MARK)
    _, end, tail = rest.partition(END_MARK)
    if not begin or not end:
        raise ValueError("the document lacks the classification markers")
    return f"{head}{BEGIN_MARK}\n{render_markdown()}{END_MARK}{tail}"


def main(
    write: Annotated[
        bool, typer.Option("--write", help="Write the table into the document instead of printing it.")
    ] = False,
    document: Annotated[Path, typer.Option(help="The document holding the table.")] = Path("docs/PRIVACY.md"),
) -> None:
    """Print or write the data classification table."""
    if not write:
        sys.stdout.write(render_markdown())
        return
    document.write_text(with_table(document.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    typer.run(main)
