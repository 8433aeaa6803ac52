"""Where a student's face lives, and how the copies are kept in step: PostgreSQL (encrypted templates, the
truth) and Milvus (the searchable index, rebuildable from them).

Names: the Milvus gallery of a school is its id, and a student's label is theirs. The gallery is the partition
key, so a search scans one school only; which students of it may check in to a lesson is decided afterwards
(``services.checkin.service`` explains why it does not search a class's members only).

A template is the L2-normalised float32 vector, sealed with AES-256-GCM under the active key of the keyring
(its id stored beside it for rotation); beside it the enrolled photo's aligned crop is sealed too, the one
thing a new embedding model can re-embed (``services.enrollment.reembed``). The associated data binds a
ciphertext to its student (and a template to its model), so one copied onto another student's row does not
decrypt there.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass

import cv2
import numpy as np
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from app.core.crypto import Keyring
from app.core.errors import NotFound
from app.db.tables import FaceTemplate, Student
from app.services.biometrics.face_index import FaceIndex
from app.services.biometrics.ports import Embeddings, ModelInfo
from app.services.checkin.cache import CheckinCache
from app.services.uow import UnitOfWork
from models.types import CROP_SIZE

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BiometricStores:
    """Every place a student's face (or what was derived from it) is kept: what erasure must reach."""

    engine: Engine
    index: FaceIndex
    cipher: TemplateCipher
    cache: CheckinCache


def gallery_of(school_id: uuid.UUID) -> str:
    return str(school_id)


def label_of(student_id: uuid.UUID) -> str:
    return str(student_id)


class TemplateCipher:
    """Seals and opens face templates with the configured keyring."""

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    @property
    def keyring(self) -> Keyring:
        """The ring itself: key rotation re-seals with it, and kept review frames are sealed with it."""
        return self._keyring

    def reseal(self, template: FaceTemplate) -> bool:
        """Re-encrypt ``template`` under the active key (in place); False when it already is."""
        if template.key_id == self._keyring.active_id:
            return False
        vector = self.open(template)
        template.key_id, template.ciphertext = self.seal(template.student_id, template.model_id, vector)
        return True

    def seal(self, student_id: uuid.UUID, model_id: str, vector: np.ndarray) -> tuple[str, bytes]:
        """``(key id, nonce || ciphertext+tag)`` of the vector's little-endian float32 bytes."""
        plain = np.ascontiguousarray(vector, dtype="<f4").tobytes()
        return self._keyring.encrypt(plain, _aad(student_id, model_id))

    def open(self, template: FaceTemplate) -> np.ndarray:
        plain = self._keyring.decrypt(
            template.key_id, template.ciphertext, _aad(template.student_id, template.model_id)
        )
        return np.frombuffer(plain, dtype="<f4").copy()

    def seal_crop(self, student_id: uuid.UUID, crop: np.ndarray) -> bytes:
        """An aligned crop (uint8 BGR, 112x112) as a self-describing sealed blob of its lossless PNG:
        independent of any model, so a later model re-embeds exactly what was enrolled."""
        ok, png = cv2.imencode(".png", np.ascontiguousarray(crop, dtype=np.uint8))
        if not ok:
            raise ValueError("the crop could not be encoded")
        return self._keyring.seal(png.tobytes(), crop_aad(student_id))

    def open_crop(self, template: FaceTemplate) -> np.ndarray | None:
        """The template's crop, or None when it has none (enrolled before crops were kept)."""
        if template.crop_sealed is None:
            return None
        png = self._keyring.open(template.crop_sealed, crop_aad(template.student_id))
        crop = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_COLOR)
        if crop is None or crop.shape != (CROP_SIZE, CROP_SIZE, 3):
            raise ValueError("the stored crop is not a 112x112 colour image")
        return crop


def _aad(student_id: uuid.UUID, model_id: str) -> bytes:
    return f"face_template:{student_id}:{model_id}".encode()


def crop_aad(student_id: uuid.UUID) -> bytes:
    """Binds a sealed crop to its student (not to a model: the crop outlives the model that embedded it)."""
    return f"face_crop:{student_id}".encode()


def templates_of(session: Session, student_id: uuid.UUID) -> list[FaceTemplate]:
    query = (
        select(FaceTemplate)
        .where(col(FaceTemplate.student_id) == student_id)
        .order_by(col(FaceTemplate.created_at))
    )
    return list(session.scalars(query))


async def forget_vectors(index: FaceIndex, school_id: uuid.UUID, student_id: uuid.UUID) -> int:
    """Remove every vector of the student from the school's gallery; 0 when there were none (idempotent)."""
    try:
        return await index.forget(gallery_of(school_id), label_of(student_id))
    except NotFound:
        return 0


async def add_vectors(
    index: FaceIndex, cipher: TemplateCipher, school_id: uuid.UUID, templates: list[FaceTemplate]
) -> None:
    """Index the templates' vectors (decrypted) in Milvus and note each one's vector id on its row."""
    by_model: dict[str, list[FaceTemplate]] = defaultdict(list)
    for template in templates:
        by_model[template.model_id].append(template)
    for model_id, group in by_model.items():
        vectors = np.stack([cipher.open(template) for template in group])
        embeddings = Embeddings(vectors, ModelInfo(model_id, int(vectors.shape[1])))
        ids = await index.add(gallery_of(school_id), label_of(group[0].student_id), embeddings)
        for template, vector_id in zip(group, ids, strict=True):
            template.vector_id = vector_id


def _lock_templates(session: Session, student_id: uuid.UUID) -> tuple[uuid.UUID, list[FaceTemplate]] | None:
    student = session.scalars(select(Student).where(col(Student.id) == student_id).with_for_update()).first()
    if student is None:
        return None
    return student.school_id, templates_of(session, student_id)


async def resync_student(
    engine: Engine, index: FaceIndex, cipher: TemplateCipher, student_id: uuid.UUID
) -> int:
    """Make Milvus hold exactly the student's templates in PostgreSQL; returns how many vectors it indexed.

    The compensation of a failed enrollment or erasure (PostgreSQL rolled back, so its committed templates
    are the truth again) and the per-student step of a rebuild. It takes the student's row lock, so it never
    interleaves with an enrollment or a withdrawal of the same student.
    """
    async with UnitOfWork(engine) as uow:
        found = await uow.run(_lock_templates, student_id)
        if found is None:
            return 0
        school_id, templates = found
        await forget_vectors(index, school_id, student_id)
        await add_vectors(index, cipher, school_id, templates)
        await uow.run(Session.flush)
    return len(templates)


async def compensate(engine: Engine, index: FaceIndex, cipher: TemplateCipher, student_id: uuid.UUID) -> None:
    """Best-effort ``resync_student`` after a failure: logged, never raised (the original error matters)."""
    try:
        await resync_student(engine, index, cipher, student_id)
    except Exception:
        # Milvus and PostgreSQL may now disagree for this student; a rebuild or the next enrollment fixes it.
        log.exception("could not restore the face index of a student after a failed command")


async def rebuild_school(
    engine: Engine, index: FaceIndex, cipher: TemplateCipher, school_id: uuid.UUID
) -> int:
    """Re-index every enrolled student of a school from PostgreSQL (Milvus lost, or a collection re-made)."""

    def enrolled(session: Session) -> list[uuid.UUID]:
        query = (
            select(col(FaceTemplate.student_id)).where(col(FaceTemplate.school_id) == school_id).distinct()
        )
        return list(session.scalars(query))

    async with UnitOfWork(engine) as uow:
        student_ids = await uow.run(enrolled)
    total = 0
    for student_id in student_ids:
        total += await resync_student(engine, index, cipher, student_id)
    return total
