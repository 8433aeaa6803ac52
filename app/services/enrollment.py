"""Enrollment: 3-5 photos of a consenting student become encrypted templates in PostgreSQL and vectors in
Milvus, or nothing is stored at all.

Per photo: decoded once, faces detected; the subject is the largest face, and the photo is refused when
another face is nearly as large (whose face is it?), when there is none, or when the subject fails a quality
limit (size, blur, exposure, contrast, head turn, tilt: the reasons are said). The accepted photos are
embedded in one batch and must show one person: a photo that does not resemble the others is refused too.
Too few accepted photos refuse the enrollment with every photo's reasons. A face already enrolled as another
student of the school is refused as well (two labels for one face would make identification ambiguous).

Storing replaces the previous enrollment, as one command: the student's row is locked (withdrawal waits on
the same lock, so consent cannot vanish half-way), consent re-checked, the old vectors deleted and the new
ones added in Milvus, the templates written and committed. If anything fails after Milvus changed, Milvus is
made to match what PostgreSQL committed (``biometrics.compensate``): no half-written enrollment either way.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import delete
from sqlmodel import Session

from app.core.config import Settings
from app.core.errors import Conflict, InvalidInput, TooLarge
from app.db.tables import EnrollmentStatus, FaceTemplate, Student, utcnow
from app.schemas.consent import EnrollmentResult, PhotoVerdict
from app.services import access
from app.services.activity import log_action, target
from app.services.biometrics import BiometricStores, compensate, forget_vectors, gallery_of, label_of
from app.services.consent import active_consent
from app.services.pipeline import Embeddings
from app.services.principal import Principal
from app.services.uow import UnitOfWork, in_transaction

log = logging.getLogger(__name__)

#: A second face at least this large (relative to the subject's) makes the photo ambiguous; smaller ones are
#: people in the background and are ignored.
SECOND_FACE_RATIO = 0.5


@dataclass(slots=True)
class _Photo:
    index: int
    reasons: list[str] = field(default_factory=list)
    crop: np.ndarray | None = None
    quality: dict[str, float] | None = None

    @property
    def accepted(self) -> bool:
        return not self.reasons

    def verdict(self) -> PhotoVerdict:
        return PhotoVerdict(
            index=self.index, accepted=self.accepted, reasons=self.reasons, quality=self.quality
        )


class EnrollmentService:
    def __init__(self, stores: BiometricStores, settings: Settings) -> None:
        self._stores = stores
        self._settings = settings

    async def enroll(
        self, principal: Principal, student_id: uuid.UUID, photos: list[bytes], request_id: str | None
    ) -> EnrollmentResult:
        low, high = self._settings.enroll_min_photos, self._settings.enroll_max_photos
        if not low <= len(photos) <= high:
            raise InvalidInput(
                f"send {low} to {high} photos, not {len(photos)}", code="photo_count", min=low, max=high
            )
        # Fail fast (404/403/409) before any model runs; checked again under the row lock when storing.
        await in_transaction(self._stores.engine, self._check_allowed, principal, student_id)
        checked, embeddings = await self._judge(photos)
        accepted = [photo for photo in checked if photo.accepted]
        verdicts = [photo.verdict() for photo in checked]
        if embeddings is None or len(accepted) < low:
            await self._audit_denied(principal, student_id, request_id, "photos", accepted=len(accepted))
            raise InvalidInput(
                f"{len(accepted)} of {len(photos)} photos are usable; at least {low} are needed",
                code="enrollment_rejected",
                photos=[verdict.model_dump(mode="json") for verdict in verdicts],
            )
        if await self._enrolled_as_other(principal, student_id, embeddings):
            await self._audit_denied(principal, student_id, request_id, "face_already_enrolled")
            raise Conflict(
                "this face is already enrolled as another student of the school", code="face_already_enrolled"
            )
        qualities = [photo.quality or {} for photo in accepted]
        await self._store(principal, student_id, embeddings, qualities, request_id)
        return EnrollmentResult(
            student_id=student_id,
            enrollment_status=EnrollmentStatus.enrolled,
            templates=len(accepted),
            model=embeddings.model.model_id,
            photos=verdicts,
        )

    # ------------------------------------------------------------------ steps

    async def _judge(self, photos: list[bytes]) -> tuple[list[_Photo], Embeddings | None]:
        """Every photo's verdict, and the vectors of the accepted ones (in their order; None if none is)."""
        checked = list(await asyncio.gather(*(self._check_photo(i, data) for i, data in enumerate(photos))))
        accepted = [photo for photo in checked if photo.accepted]
        if not accepted:
            return checked, None
        embeddings = await self._stores.faces.embed(np.stack([photo.crop for photo in accepted]))
        keep = _same_person(embeddings.vectors, self._settings.enroll_same_person_min)
        for photo, kept in zip(accepted, keep, strict=True):
            if not kept:
                photo.reasons.append("does not look like the same person as the other photos")
        return checked, Embeddings(embeddings.vectors[keep], embeddings.model)

    def _check_allowed(
        self, session: Session, principal: Principal, student_id: uuid.UUID, *, lock: bool = False
    ) -> Student:
        """May the caller enroll this student now? ``lock``: and hold the student's row until commit."""
        student = access.get_student(session, principal, student_id, manage=True, lock=lock)
        if not student.active:
            raise Conflict("the student is no longer active", code="student_inactive")
        consent = active_consent(session, student_id)
        if consent is None or consent.version != self._settings.consent_version:
            raise Conflict(
                "a consent to the current text must be recorded before any face is stored",
                code="consent_required",
                current_version=self._settings.consent_version,
            )
        return student

    async def _check_photo(self, index: int, data: bytes) -> _Photo:
        photo = _Photo(index)
        try:
            found = await self._stores.faces.detect(data)
        except (InvalidInput, TooLarge) as exc:  # not an image, corrupt, too many pixels: this photo only
            photo.reasons.append(exc.message)
            return photo
        if not found.faces:
            photo.reasons.append("no face was found")
            return photo
        sizes = [detected.quality.face_size for detected in found.faces]
        subject = int(np.argmax(sizes))
        if sum(size >= SECOND_FACE_RATIO * sizes[subject] for size in sizes) > 1:
            photo.reasons.append("more than one face: only the student may be in the photo")
        quality = found.faces[subject].quality
        photo.quality = {name: round(value, 2) for name, value in quality.to_dict().items()}
        photo.reasons.extend(quality.reasons(self._stores.faces.quality.enrollment))
        photo.crop = found.crops[subject]
        return photo

    async def _enrolled_as_other(
        self, principal: Principal, student_id: uuid.UUID, embeddings: Embeddings
    ) -> bool:
        """Do most of the photos match another student of the school? (Twins are the honest exception; the
        office then decides, but two labels for one face would make identification ambiguous.)"""
        matches = await self._stores.faces.search(gallery_of(principal.school_id), embeddings)
        others = [m for m in matches if m.label is not None and m.label != label_of(student_id)]
        return len(others) * 2 > len(matches)

    async def _audit_denied(
        self, principal: Principal, student_id: uuid.UUID, request_id: str | None, reason: str, **details: int
    ) -> None:
        """A refused enrollment leaves an event too (its own transaction: nothing else is written)."""
        await in_transaction(
            self._stores.engine,
            log_action,
            principal,
            "enrollment.create",
            target("student", student_id),
            request_id,
            result="denied",
            reason=reason,
            **details,
        )

    async def _store(
        self,
        principal: Principal,
        student_id: uuid.UUID,
        embeddings: Embeddings,
        qualities: list[dict[str, float]],
        request_id: str | None,
    ) -> None:
        stores = self._stores
        milvus_touched = False
        try:
            async with UnitOfWork(stores.engine) as uow:
                student = await uow.run(self._check_allowed, principal, student_id, lock=True)
                milvus_touched = True
                await forget_vectors(stores.faces, student.school_id, student_id)
                ids = await stores.faces.add(gallery_of(student.school_id), label_of(student_id), embeddings)
                await uow.run(
                    self._write_templates, principal, student, embeddings, ids, qualities, request_id
                )
        except BaseException:
            if milvus_touched:
                await compensate(stores.engine, stores.faces, stores.cipher, student_id)
            raise

    def _write_templates(
        self,
        session: Session,
        principal: Principal,
        student: Student,
        embeddings: Embeddings,
        vector_ids: list[int],
        qualities: list[dict[str, float]],
        request_id: str | None,
    ) -> None:
        session.execute(delete(FaceTemplate).where(FaceTemplate.student_id == student.id))
        model_id = embeddings.model.model_id
        for vector, vector_id, quality in zip(embeddings.vectors, vector_ids, qualities, strict=True):
            key_id, blob = self._stores.cipher.seal(student.id, model_id, vector)
            session.add(
                FaceTemplate(
                    student_id=student.id,
                    school_id=student.school_id,
                    model_id=model_id,
                    key_id=key_id,
                    ciphertext=blob,
                    vector_id=vector_id,
                    quality=quality,
                )
            )
        student.enrollment_status = EnrollmentStatus.enrolled
        student.updated_at = utcnow()
        session.flush()
        log_action(
            session,
            principal,
            "enrollment.create",
            target("student", student.id),
            request_id,
            templates=len(vector_ids),
            model=model_id,
        )


def _same_person(vectors: np.ndarray, minimum: float) -> np.ndarray:
    """Which photos to keep: drop the one least like the others while it is below ``minimum``."""
    keep = np.ones(len(vectors), dtype=bool)
    similarity = vectors @ vectors.T
    while keep.sum() > 1:
        idx = np.flatnonzero(keep)
        sub = similarity[np.ix_(idx, idx)]
        mean_to_others = (sub.sum(axis=1) - np.diag(sub)) / (len(idx) - 1)
        worst = int(np.argmin(mean_to_others))
        if mean_to_others[worst] >= minimum:
            break
        keep[idx[worst]] = False
    return keep
