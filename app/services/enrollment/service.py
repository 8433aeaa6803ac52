"""Enrollment: 3-5 photos of a consenting student become encrypted templates in PostgreSQL and vectors in
Milvus, or nothing is stored at all.

Per photo: decoded once, faces detected; the subject is the largest face, and the photo is refused when
another face is nearly as large (whose face is it?), when there is none, or when the subject fails a quality
limit (size, blur, exposure, contrast, head turn, tilt). Every refusal has a reason for people and a stable
code for machines (``PhotoVerdict.codes``), which the web app translates.

The identity guard: one enrollment must be one photo-set of one person, and it must not quietly put another
face on a student. The accepted photos are embedded in one batch, then:

- Copies (``duplicate_photo``): a photo within ``enroll_duplicate_min`` cosine of an earlier one is the same
  photo sent again (or re-encoded) and is refused: it would count as a second view while adding nothing, so
  three copies of one photo leave one and the enrollment has too few.
- One person (``not_same_person``): every pair of the remaining photos must reach the 1:1 verification
  threshold (the Ingress' ``verify_threshold``, the same test a 1:1 check-in passes). If one pair fails the
  whole enrollment is refused (422) and the odd photos are named: those outside the single largest set of
  photos that all match each other, when that set is a strict majority; when the photos split with no such
  set (two and two, or A and B each like C but not like each other) every photo of a failing pair is named.
  A photo that clears every pair but is a weak likeness on average (``enroll_same_person_min``) is dropped
  (``weak_likeness``); the rest may still enroll.
- Too few photos left: 422 with every photo's verdict.
- Re-enrollment (``face_mismatch``, 409): a student who has templates keeps their face unless every new photo
  verifies against the stored templates (decrypted, same model; best cosine at the 1:1 threshold). Only an
  admin may confirm a replacement (``replace``); checked again under the row lock, so a concurrent
  enrollment cannot slip a face in between.
- Another student (``face_already_enrolled``, 409): when a strict majority of the photos match one other
  student of the school at the school's 1:N threshold (the Matcher's), the face is probably enrolled twice;
  an admin may confirm it is not (twins: ``allow_duplicate``).
A teacher asking for either override is refused (403). A confirmed override is in the audit event
(``replaced``, ``duplicate_of_student_id`` pseudonymised); every refusal leaves a denied event and stores
nothing. The thresholds and the measurements behind them: docs/ENROLLMENT.md.

Storing replaces the previous enrollment, as one command: the student's row is locked (withdrawal waits on
the same lock, so consent cannot vanish half-way), consent re-checked, the old vectors deleted and the new
ones added in Milvus, the templates written and committed. Each template keeps its photo's aligned crop,
sealed, so that a new embedding model can re-embed the student without new photos
(``services.enrollment.reembed``). If anything fails after Milvus changed, Milvus is made to match what
PostgreSQL committed (``biometrics.compensate``): no half-written enrollment either way.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Literal, cast

import numpy as np
from sqlalchemy import delete
from sqlmodel import Session, col

from app.core.enums import EnrollmentStatus
from app.core.errors import Conflict, Forbidden, InvalidInput, TooLarge
from app.core.setting_groups import EnrollmentPolicy
from app.db.tables import FaceTemplate, Student, utcnow
from app.schemas.consent import EnrollmentResult, PhotoVerdict
from app.services.biometrics.face_service import FaceService
from app.services.biometrics.ports import Embeddings
from app.services.biometrics.stores import (
    BiometricStores,
    compensate,
    forget_vectors,
    gallery_of,
    label_of,
    templates_of,
)
from app.services.identity import access
from app.services.identity.principal import Principal
from app.services.privacy.activity import log_action, target
from app.services.privacy.consent import active_consent
from app.services.privacy.consent_texts import text_of
from app.services.uow import UnitOfWork, in_transaction

log = logging.getLogger(__name__)

#: A second face at least this large (relative to the subject's) makes the photo ambiguous; smaller ones are
#: people in the background and are ignored.
SECOND_FACE_RATIO = 0.5

#: Up to this many photos the odd ones are found by trying the subsets larger than half (n is 3-5 in
#: practice); beyond it (a school configuring huge enrollments) every photo of a failing pair is named.
EXACT_SEARCH_MAX = 12

NOT_SAME_PERSON = "does not look like the same person as the other photos"

#: Whose face the student's stored templates are, compared with the new photos.
EnrolledFace = Literal["none", "same", "different"]


@dataclass(slots=True)
class _Photo:
    index: int
    reasons: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    crop: np.ndarray | None = None
    quality: dict[str, float] | None = None

    @property
    def accepted(self) -> bool:
        return not self.reasons

    def refuse(self, code: str, reason: str) -> None:
        """One reason more, for people and (``code``) for machines, kept in step."""
        self.codes.append(code)
        self.reasons.append(reason)

    def verdict(self) -> PhotoVerdict:
        return PhotoVerdict(
            index=self.index,
            accepted=self.accepted,
            reasons=self.reasons,
            codes=self.codes,
            quality=self.quality,
        )


class EnrollmentService:
    def __init__(self, stores: BiometricStores, face_service: FaceService, policy: EnrollmentPolicy) -> None:
        self._stores = stores
        self._face_service = face_service
        self._policy = policy

    async def enroll(
        self,
        principal: Principal,
        student_id: uuid.UUID,
        photos: list[bytes],
        request_id: str | None,
        *,
        replace: bool = False,
        allow_duplicate: bool = False,
    ) -> EnrollmentResult:
        """Enroll the photos, or refuse with a code. ``replace``: an admin confirms that these photos replace
        a different enrolled face; ``allow_duplicate``: an admin confirms a face matching another student."""
        low, high = self._policy.min_photos, self._policy.max_photos
        if not low <= len(photos) <= high:
            raise InvalidInput(
                f"send {low} to {high} photos, not {len(photos)}", code="photo_count", min=low, max=high
            )
        # Fail fast (404/403/409) before any model runs; checked again under the row lock when storing.
        try:
            await in_transaction(self._stores.engine, self._check_allowed, principal, student_id)
        except Conflict as exc:  # the student's state refuses it (no consent, left): audited like the rest
            await self._audit_denied(principal, student_id, request_id, exc.code)
            raise
        if (replace or allow_duplicate) and not principal.is_admin():
            await self._audit_denied(
                principal,
                student_id,
                request_id,
                "override_forbidden",
                replace=replace,
                allow_duplicate=allow_duplicate,
            )
            raise Forbidden(
                "only an admin may confirm a face replacement or a face that matches another student",
                code="forbidden",
                role=principal.role_name,
                field="replace" if replace else "allow_duplicate",
            )
        checked, embeddings, odd = await self._judge(photos)
        accepted = [photo for photo in checked if photo.accepted]
        verdicts = [photo.verdict().model_dump(mode="json") for photo in checked]
        if odd:
            await self._audit_denied(principal, student_id, request_id, "not_same_person", photos=odd)
            named = ", ".join(f"photos[{index}]" for index in odd)
            raise InvalidInput(
                f"{named}: not the same person as the other photos; send photos of the student only",
                code="enrollment_rejected",
                photos=verdicts,
                not_same_person=odd,
            )
        if embeddings is None or len(accepted) < low:
            await self._audit_denied(principal, student_id, request_id, "photos", accepted=len(accepted))
            raise InvalidInput(
                f"{len(accepted)} of {len(photos)} photos are usable; at least {low} are needed",
                code="enrollment_rejected",
                photos=verdicts,
            )
        face = await in_transaction(self._stores.engine, self._enrolled_face, student_id, embeddings)
        if face == "different" and not replace:
            await self._audit_denied(principal, student_id, request_id, "face_mismatch")
            raise _face_mismatch()
        duplicate_of = await self._enrolled_as_other(principal, student_id, embeddings)
        if duplicate_of is not None and not allow_duplicate:
            await self._audit_denied(
                principal,
                student_id,
                request_id,
                "face_already_enrolled",
                duplicate_of_student_id=duplicate_of,
            )
            # Which student is not said: the caller may not be allowed to see them.
            raise Conflict(
                "this face is already enrolled as another student of the school; an admin can confirm that "
                "it is a different person (allow_duplicate)",
                code="face_already_enrolled",
            )
        qualities = [photo.quality or {} for photo in accepted]
        crops = [cast(np.ndarray, photo.crop) for photo in accepted]  # every accepted photo has its crop
        try:
            replaced = await self._store(
                principal, student_id, embeddings, crops, qualities, request_id, replace, duplicate_of
            )
        except Conflict as exc:
            if exc.code == "face_mismatch":  # another enrollment changed the face while these were judged
                await self._audit_denied(principal, student_id, request_id, "face_mismatch")
            raise
        return EnrollmentResult(
            student_id=student_id,
            enrollment_status=EnrollmentStatus.enrolled,
            templates=len(accepted),
            model=embeddings.model.model_id,
            replaced=replaced,
            photos=[photo.verdict() for photo in checked],
        )

    # ------------------------------------------------------------------ steps

    async def _judge(self, photos: list[bytes]) -> tuple[list[_Photo], Embeddings | None, list[int]]:
        """Every photo's verdict; the vectors of those still accepted (in their order; None if none is); and
        the indices of the photos that are not the same person as the others (empty when they all are)."""
        checked = list(await asyncio.gather(*(self._check_photo(i, data) for i, data in enumerate(photos))))
        usable = [photo for photo in checked if photo.accepted]
        if not usable:
            return checked, None, []
        embedded = await self._face_service.embed(
            np.stack([cast(np.ndarray, photo.crop) for photo in usable])
        )
        vectors = embedded.vectors
        originals = find_copies(vectors, self._policy.duplicate_min)
        for photo, original in zip(usable, originals, strict=True):
            if original is not None:
                photo.refuse("duplicate_photo", f"the same photo as photos[{usable[original].index}]")
        distinct = [i for i, original in enumerate(originals) if original is None]
        odd = odd_photos(vectors[distinct], self._face_service.verify_threshold)
        for position in odd:
            usable[distinct[position]].refuse("not_same_person", NOT_SAME_PERSON)
        if not odd:
            alike = _alike(vectors[distinct], self._policy.same_person_min)
            for weak in np.flatnonzero(~alike):
                usable[distinct[weak]].refuse("weak_likeness", "looks too little like the other photos")
        kept = [i for i, photo in enumerate(usable) if photo.accepted]
        return checked, Embeddings(vectors[kept], embedded.model), [usable[distinct[p]].index for p in odd]

    def _check_allowed(
        self, session: Session, principal: Principal, student_id: uuid.UUID, *, lock: bool = False
    ) -> Student:
        """May the caller enroll this student now? ``lock``: and hold the student's row until commit."""
        student = access.get_student(session, principal, student_id, manage=True, lock=lock)
        if not student.active:
            raise Conflict("the student is no longer active", code="student_inactive")
        consent = active_consent(session, student_id)
        if consent is None or consent.version != self._policy.consent_version:
            raise Conflict(
                "a consent to the current text must be recorded before any face is stored",
                code="consent_required",
                current_version=self._policy.consent_version,
            )
        return student

    async def _check_photo(self, index: int, data: bytes) -> _Photo:
        photo = _Photo(index)
        try:
            found = await self._face_service.detect(data)
        except (InvalidInput, TooLarge) as exc:  # not an image, corrupt, too many pixels: this photo only
            photo.refuse(exc.code, exc.message)
            return photo
        if not found.faces:
            photo.refuse("no_face", "no face was found")
            return photo
        sizes = [detected.quality.face_size for detected in found.faces]
        subject = int(np.argmax(sizes))
        if sum(size >= SECOND_FACE_RATIO * sizes[subject] for size in sizes) > 1:
            photo.refuse("multiple_faces", "more than one face: only the student may be in the photo")
        quality = found.faces[subject].quality
        photo.quality = {name: round(value, 2) for name, value in quality.to_dict().items()}
        for problem in quality.problems(self._face_service.quality.enrollment):
            photo.refuse(problem.code, problem.message)
        photo.crop = found.crops[subject]
        return photo

    def _enrolled_face(self, session: Session, student_id: uuid.UUID, embeddings: Embeddings) -> EnrolledFace:
        """Is the student's enrolled face (if any) the one in the new photos? Stored templates of another
        model cannot be compared, and a face that cannot be confirmed counts as a different one."""
        templates = templates_of(session, student_id)
        if not templates:
            return "none"
        model_id = embeddings.model.model_id
        stored = [self._stores.cipher.open(t) for t in templates if t.model_id == model_id]
        threshold = self._face_service.verify_threshold
        if stored and verifies(embeddings.vectors, np.stack(stored), threshold):
            return "same"
        return "different"

    async def _enrolled_as_other(
        self, principal: Principal, student_id: uuid.UUID, embeddings: Embeddings
    ) -> str | None:
        """The other student of the school (their id) whom most of the photos match, if any. (Twins are the
        honest exception, which an admin confirms; otherwise two labels for one face would make
        identification ambiguous.)"""
        matches = await self._stores.index.search(gallery_of(principal.school_id), embeddings)
        return majority_other([match.label for match in matches], label_of(student_id))

    async def _audit_denied(
        self,
        principal: Principal,
        student_id: uuid.UUID,
        request_id: str | None,
        reason: str,
        **details: object,
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
        crops: list[np.ndarray],
        qualities: list[dict[str, float]],
        request_id: str | None,
        replace: bool,
        duplicate_of: str | None,
    ) -> bool:
        """Write the enrollment; True when it replaced a different face (which ``replace`` allowed)."""
        stores = self._stores
        milvus_touched = replaced = False
        try:
            async with UnitOfWork(stores.engine) as uow:
                student = await uow.run(self._check_allowed, principal, student_id, lock=True)
                face = await uow.run(self._enrolled_face, student_id, embeddings)  # again, under the lock
                if face == "different" and not replace:
                    raise _face_mismatch()
                replaced = face == "different"
                overrides: dict[str, Any] = {}
                if replaced:
                    overrides["replaced"] = True
                if duplicate_of is not None:
                    overrides["duplicate_of_student_id"] = duplicate_of  # pseudonymised by the audit trail
                milvus_touched = True
                await forget_vectors(stores.index, student.school_id, student_id)
                ids = await stores.index.add(gallery_of(student.school_id), label_of(student_id), embeddings)
                await uow.run(
                    self._write_templates,
                    principal,
                    student,
                    embeddings,
                    ids,
                    crops,
                    qualities,
                    request_id,
                    overrides,
                )
        except BaseException:
            if milvus_touched:
                await compensate(stores.engine, stores.index, stores.cipher, student_id)
            raise
        return replaced

    def _write_templates(
        self,
        session: Session,
        principal: Principal,
        student: Student,
        embeddings: Embeddings,
        vector_ids: list[int],
        crops: list[np.ndarray],
        qualities: list[dict[str, float]],
        request_id: str | None,
        overrides: dict[str, Any],
    ) -> None:
        session.execute(delete(FaceTemplate).where(col(FaceTemplate.student_id) == student.id))
        model_id = embeddings.model.model_id
        cipher = self._stores.cipher
        # Crops are kept only where the consent text agreed to says so (enrollment requires the current one).
        text = text_of(self._policy.consent_version)
        keep_crops = text is not None and text.keeps_crops
        rows = zip(embeddings.vectors, vector_ids, crops, qualities, strict=True)
        for vector, vector_id, crop, quality in rows:
            key_id, blob = cipher.seal(student.id, model_id, vector)
            session.add(
                FaceTemplate(
                    student_id=student.id,
                    school_id=student.school_id,
                    model_id=model_id,
                    key_id=key_id,
                    ciphertext=blob,
                    crop_sealed=cipher.seal_crop(student.id, crop) if keep_crops else None,
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
            **overrides,
        )


def _face_mismatch() -> Conflict:
    return Conflict(
        "these photos do not match the face enrolled for this student; an admin can confirm a replacement "
        "(replace)",
        code="face_mismatch",
    )


# ---------------------------------------------------------------------- decisions (pure, unit-tested)


def find_copies(vectors: np.ndarray, minimum: float) -> list[int | None]:
    """For each photo (a row of L2-normalised ``vectors``), the position of the earlier photo it is a copy
    of (cosine at least ``minimum``), or None for an original. A copy of a copy names the original, so any
    number of copies of one photo leave exactly one."""
    originals: list[int | None] = []
    for i in range(len(vectors)):
        if i == 0:
            originals.append(None)
            continue
        similarity = vectors[:i] @ vectors[i]
        nearest = int(np.argmax(similarity))
        if similarity[nearest] >= minimum:
            first = originals[nearest]
            originals.append(nearest if first is None else first)
        else:
            originals.append(None)
    return originals


def odd_photos(vectors: np.ndarray, threshold: float) -> list[int]:
    """Positions of the photos that are not the same person as the others; empty when every pair's cosine
    reaches ``threshold``.

    The "others" are the largest set of photos that all match each other pairwise, when exactly one set is
    that large and it is a strict majority: removing the photos outside it is the smallest change that makes
    the rest consistent, and no other choice is as good. Without such a set (two and two; or A and B each
    matching C but not each other) no photo is clearly the odd one, so every photo of a failing pair is
    named: all of them when the photos split."""
    count = len(vectors)
    alike = vectors @ vectors.T >= threshold
    np.fill_diagonal(alike, True)
    if alike.all():
        return []
    if count <= EXACT_SEARCH_MAX:
        for size in range(count - 1, count // 2, -1):  # largest first; a set of half or less is no majority
            groups = [g for g in combinations(range(count), size) if alike[np.ix_(g, g)].all()]
            if len(groups) == 1:
                return [i for i in range(count) if i not in groups[0]]
            if groups:
                break
    return [i for i in range(count) if not alike[i].all()]


def verifies(new: np.ndarray, enrolled: np.ndarray, threshold: float) -> bool:
    """Would every new photo pass a 1:1 check against the enrolled templates (its best cosine among them at
    least ``threshold``)? Asked of each photo rather than of the best pair overall: on LFW the best of 3x3
    pairs lets 1.8 % of other people through at 0.33, every photo's best 0.05 % (docs/ENROLLMENT.md)."""
    return bool(np.all((new @ enrolled.T).max(axis=1) >= threshold))


def majority_other(labels: Sequence[str | None], own: str) -> str | None:
    """The one other label that a strict majority of the photos' best matches name, if any (None: unknown).
    One other person, not "anyone else": photos that each resemble a different student are a common face,
    not a face enrolled twice, and the override's audit must name whom it concerns."""
    others = Counter(label for label in labels if label is not None and label != own)
    if not others:
        return None
    label, count = others.most_common(1)[0]
    return label if 2 * count > len(labels) else None


def _alike(vectors: np.ndarray, minimum: float) -> np.ndarray:
    """Which photos to keep: drop the one least like the others while its mean cosine is below ``minimum``."""
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
