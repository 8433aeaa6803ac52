"""Re-embedding: when the embedding model changes, every student's vectors are made again by the new model.

A template is one model's vector and means nothing to another model; what a new model can embed is the
enrolled photo's aligned crop, which enrollment keeps sealed beside each template
(``FaceTemplate.crop_sealed``). Models that take the ArcFace-aligned 112x112 crop (SFace, MobileFaceNet, the
ArcFace family) re-embed from it; a model with another crop geometry needs re-enrollment.

How it runs, with the new model installed (``python -m app.jobs re-embed``, from the new image):
1. Student by student, under the student's row lock (so it never interleaves with an enrollment or an
   erasure of the same student): the crops are opened, embedded by the new model, sealed as the new model's
   templates beside the old ones, and indexed in the new model's own collection. The old model's templates
   and vectors stay, so the deployment still serving the old model keeps recognising everyone meanwhile.
2. A student whose templates have no crop (enrolled before crops were kept), or whose crops do not open, is
   flagged ``needs_reenrollment`` (audited): the office sees it on the student and re-enrolls them.
3. When every student has the new model's templates or is flagged, the report says ``complete``: deploy the
   version that serves the new model (its searches go to the new collection; a rollback finds the old one
   intact). A failure before that leaves both models whole for everyone done so far; running the job again
   continues (students already on the new model are skipped), so it is idempotent.
4. When the rollback window has closed, ``re-embed --retire-old`` deletes the old models' templates and
   vectors of every re-embedded student. Flagged students keep theirs until they are re-enrolled, so the
   school loses nobody's enrollment to an upgrade it could still undo.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from app.core.crypto import CryptoError
from app.core.enums import EnrollmentStatus
from app.db.session import transaction
from app.db.tables import FaceTemplate, Student, utcnow
from app.services.biometrics.job_index import model_dims
from app.services.biometrics.stores import TemplateCipher, gallery_of, label_of
from app.services.privacy import audit
from app.services.privacy.activity import target
from app.services.privacy.retention import SYSTEM
from models.gallery import FaceGallery
from models.types import FaceEmbedder

log = logging.getLogger(__name__)


@dataclass
class ReembedReport:
    model: str  # the new model's id
    dry_run: bool
    students: int = 0  # students with templates
    reembedded: int = 0  # moved to the new model by this run
    already: int = 0  # had the new model's templates before this run
    needs_reenrollment: int = 0  # flagged: no crop to re-embed from
    templates: int = 0  # new templates written (to be written, in a dry run)
    retired: dict[str, int] = field(default_factory=dict)  # old model id -> templates deleted

    @property
    def complete(self) -> bool:
        """Every student has the new model's templates or is flagged: the new model can be deployed."""
        return self.already + self.reembedded + self.needs_reenrollment == self.students


def reembed(
    engine: Engine,
    cipher: TemplateCipher,
    embedder: FaceEmbedder,
    gallery: FaceGallery,
    old_galleries: Callable[[str, int], FaceGallery],
    *,
    dry_run: bool = False,
    retire_old: bool = False,
) -> ReembedReport:
    """Re-embed every student into ``embedder``'s model (``gallery`` is its collection); with
    ``retire_old``, then delete the other models' templates and vectors (``old_galleries(model_id, dim)``
    opens their collections) of everyone re-embedded. See the module docstring."""
    report = ReembedReport(embedder.model_id, dry_run)
    with transaction(engine) as session:
        students = list(session.scalars(select(col(FaceTemplate.student_id)).distinct()))
    report.students = len(students)
    flagged: set[uuid.UUID] = set()
    for student_id in students:
        outcome = _reembed_student(engine, cipher, embedder, gallery, student_id, dry_run=dry_run)
        if outcome == "already":
            report.already += 1
        elif outcome == "flagged":
            report.needs_reenrollment += 1
            flagged.add(student_id)
        else:
            report.reembedded += 1
            report.templates += outcome
    if retire_old and not dry_run and report.complete:
        report.retired = _retire_old(engine, embedder.model_id, old_galleries, flagged)
    return report


def _reembed_student(
    engine: Engine,
    cipher: TemplateCipher,
    embedder: FaceEmbedder,
    gallery: FaceGallery,
    student_id: uuid.UUID,
    *,
    dry_run: bool,
) -> int | Literal["already", "flagged"]:
    """``"already"``, ``"flagged"``, or how many new templates the student got."""
    with transaction(engine) as session:
        student = session.scalars(
            select(Student).where(col(Student.id) == student_id).with_for_update()
        ).one()
        templates = list(
            session.scalars(select(FaceTemplate).where(col(FaceTemplate.student_id) == student_id))
        )
        if any(t.model_id == embedder.model_id for t in templates):
            return "already"
        latest = max(templates, key=lambda t: t.created_at).model_id
        source = [t for t in templates if t.model_id == latest]
        crops = _open_crops(cipher, source)
        if crops is None:
            if not dry_run and student.enrollment_status != EnrollmentStatus.needs_reenrollment:
                _flag(session, student, latest)
            return "flagged"
        if dry_run:
            return len(source)
        vectors = embedder.embed(np.stack(crops))
        gallery.delete(gallery_of(student.school_id), label_of(student_id))  # a rerun's leftovers
        ids = gallery.add(gallery_of(student.school_id), label_of(student_id), vectors)
        for old, vector, vector_id in zip(source, vectors, ids, strict=True):
            key_id, blob = cipher.seal(student_id, embedder.model_id, vector)
            session.add(
                FaceTemplate(
                    student_id=student_id,
                    school_id=student.school_id,
                    model_id=embedder.model_id,
                    key_id=key_id,
                    ciphertext=blob,
                    crop_sealed=old.crop_sealed,
                    vector_id=vector_id,
                    quality=old.quality,
                )
            )
        return len(source)


def _open_crops(cipher: TemplateCipher, templates: list[FaceTemplate]) -> list[np.ndarray] | None:
    """Every template's crop, or None when any is missing or does not open (then the set is not whole)."""
    crops = []
    for template in templates:
        try:
            crop = cipher.open_crop(template)
        except (CryptoError, ValueError) as exc:
            log.warning("a face crop does not open (%s): the student needs re-enrollment", type(exc).__name__)
            return None
        if crop is None:
            return None
        crops.append(crop)
    return crops


def _flag(session: Session, student: Student, model_id: str) -> None:
    student.enrollment_status = EnrollmentStatus.needs_reenrollment
    student.updated_at = utcnow()
    audit.record(
        session,
        SYSTEM,
        "enrollment.needs_reenrollment",
        target("student", student.id),
        school_id=student.school_id,
        reason="no_crop_to_reembed",
        model=model_id,
    )


def _retire_old(
    engine: Engine,
    model_id: str,
    old_galleries: Callable[[str, int], FaceGallery],
    flagged: set[uuid.UUID],
) -> dict[str, int]:
    """Delete other models' templates and vectors of every student who has ``model_id``'s (flagged
    students keep theirs); returns templates deleted per old model."""
    retired: dict[str, int] = {}
    with transaction(engine) as session:
        dims = model_dims(session)
        moved = set(
            session.scalars(
                select(col(FaceTemplate.student_id)).where(col(FaceTemplate.model_id) == model_id)
            )
        )
        query = select(
            col(FaceTemplate.student_id), col(FaceTemplate.school_id), col(FaceTemplate.model_id)
        ).distinct()
        stale = session.execute(query.where(col(FaceTemplate.model_id) != model_id)).all()
    for student_id, school_id, old_model in stale:
        if student_id not in moved or student_id in flagged:
            continue
        old_galleries(old_model, dims[old_model]).delete(gallery_of(school_id), label_of(student_id))
        with transaction(engine) as session:
            doomed = session.scalars(
                select(FaceTemplate).where(
                    col(FaceTemplate.student_id) == student_id, col(FaceTemplate.model_id) == old_model
                )
            ).all()
            for template in doomed:
                session.delete(template)
            retired[old_model] = retired.get(old_model, 0) + len(doomed)
    return retired
