"""What a restore must not bring back: erasures and consent withdrawals made after the backup are re-applied
from the ledger (pseudonyms only). And a dump that does not match its checksum is never restored."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.core.config import Settings
from app.core.crypto import IdHasher
from app.core.enums import EnrollmentStatus
from app.db.tables import Consent, ErasureTombstone, FaceTemplate, Student, utcnow
from app.schemas.consent import ConsentCreate
from app.services.biometrics.stores import BiometricStores
from app.services.enrollment.service import EnrollmentService
from app.services.operations import backup
from app.services.operations.backup import BackupError, Ledger, RestoreReport
from app.services.privacy import consent
from app.services.privacy.disclosure import subject_of
from tests.domain.school.conftest import World

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("redis_url")]


def hasher(settings: Settings) -> IdHasher:
    return IdHasher(settings.id_hash_key.get_secret_value().encode())


async def test_the_ledger_erases_and_withdraws_again(
    world: World, settings: Settings, stores: BiometricStores, photos: dict[str, list[bytes]]
) -> None:
    kept, withdrawn, erased = world.students
    for student, key in ((kept, "lagos"), (withdrawn, "wolfowitz")):
        consent.grant_consent(
            world.db, world.admin, student.id, ConsentCreate(granted_by_name="G", relation="guardian"),
            current_version=settings.consent_version, age_of_majority=18, request_id=None,
        )  # fmt: skip
        world.db.commit()
        await EnrollmentService(stores, stores.face_service, settings.enrollment).enroll(
            world.admin, student.id, photos[key][:3], None
        )
    later = (utcnow() + timedelta(minutes=1)).isoformat()
    tombstone = {
        "id": "8d5e0a1c-1111-4222-8333-944455556666",
        "school_id": str(world.school.id),
        "requested_by": world.admin.actor,
        "requested_at": later,
        "completed_at": later,
        "receipt": {"removed": {"postgresql": {"student": 1}}},
    }
    ledger = Ledger(
        erasures={subject_of(world.db, erased.id): tombstone},
        withdrawals={
            subject_of(world.db, withdrawn.id): later,
            subject_of(world.db, world.outsider.id) + "0": later,
        },
    )
    ledger = Ledger.from_file(_write(ledger, world, Path(settings.data_dir)))  # survives a round trip

    report = RestoreReport("test", True, [])
    backup.reapply(world.db, ledger, hasher(settings), report)
    world.db.commit()
    assert (report.erasures_reapplied, report.withdrawals_reapplied, report.templates_deleted) == (1, 1, 3)
    world.db.expire_all()
    assert world.db.get(Student, erased.id) is None
    assert world.db.scalars(select(ErasureTombstone)).one().subject == subject_of(world.db, erased.id)
    assert world.db.get(Student, withdrawn.id).enrollment_status is EnrollmentStatus.none
    count = select(func.count()).select_from(FaceTemplate).where(FaceTemplate.student_id == withdrawn.id)
    assert world.db.scalar(count) == 0
    assert world.db.scalars(select(Consent).where(Consent.student_id == withdrawn.id)).one().withdrawn_at
    kept_templates = select(func.count()).select_from(FaceTemplate).where(FaceTemplate.student_id == kept.id)
    assert world.db.scalar(kept_templates) == 3

    again = RestoreReport("test", True, [])
    backup.reapply(world.db, ledger, hasher(settings), again)  # idempotent
    assert (again.erasures_reapplied, again.withdrawals_reapplied) == (0, 0)

    # the ledger of this database now records both, by pseudonym only
    read = backup.read_ledger(world.db, hasher(settings))
    assert set(read.erasures) == {subject_of(world.db, erased.id)}
    assert subject_of(world.db, withdrawn.id) in read.withdrawals
    assert str(withdrawn.id) not in read.to_json()


def _write(ledger: Ledger, world: World, directory: Path) -> Path:
    path = directory / f"ledger-{world.school.id}.json"
    path.write_text(ledger.to_json(), encoding="utf-8")
    return path


def test_backup_writes_a_checked_dump_and_a_tampered_one_is_refused(
    world: World, settings: Settings, pg_url: str, tmp_path: Path
) -> None:
    report = backup.backup(pg_url, tmp_path / "domain.dump", hasher(settings))
    dump = Path(report.path)
    assert dump.is_file() and report.entries > 10
    assert Path(report.ledger).is_file() and report.erasures == 0
    assert backup.pg_tool("pg_dump").parent.name == "bin"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="does not match"):
        backup.restore(pg_url, dump, hasher(settings))
    assert world.db.get(Student, world.students[0].id) is not None  # nothing was touched
