"""The Milvus index as the jobs see it: no models, only collections, rebuilt from PostgreSQL on demand.

PostgreSQL is the truth (encrypted templates); Milvus is an index of it. ``IndexPipeline`` is the
``VectorIndex`` of a job process: it adds, deletes and compacts vectors in the collection of each embedding
model that has templates (or had, for erasures still to be compacted). The domain services that need only the
index (erasure, consent withdrawal, ``biometrics.rebuild_school``) run unchanged in a job.

``rebuild_index`` drops each model's collection and fills it again from the decrypted templates, school by
school and student by student (each under the student's row lock, so it never interleaves with an enrollment
or an erasure): after a restore, after losing Milvus, and on Milvus Lite to make deletions physical (its
``compact`` does nothing; dropping a collection deletes its files).

Milvus Lite allows one process per database file: on the embedded default, run these jobs while the app is
stopped (the gallery reports the file as locked otherwise).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from app.core.crypto import NONCE_BYTES
from app.core.enums import ErasureState
from app.db.session import transaction
from app.db.tables import ErasureTombstone, FaceTemplate
from app.services.biometrics.face_index import FaceIndex
from app.services.biometrics.ports import Embeddings
from app.services.biometrics.stores import TemplateCipher, rebuild_school
from models.gallery import FaceGallery, Match

_TAG_BYTES = 16


def model_dims(session: Session, student_id: uuid.UUID | None = None) -> dict[str, int]:
    """``{model id: vector dimension}`` of the stored templates (of one student), from the ciphertext's
    length (nonce, float32 values, tag)."""
    size = func.max(func.octet_length(FaceTemplate.ciphertext))
    query = select(col(FaceTemplate.model_id), size).group_by(FaceTemplate.model_id)
    if student_id is not None:
        query = query.where(col(FaceTemplate.student_id) == student_id)
    return {model: (int(n) - NONCE_BYTES - _TAG_BYTES) // 4 for model, n in session.execute(query)}


def pending_erasure_models(session: Session) -> dict[str, int]:
    """Models whose collections held vectors of erasures not yet compacted (they may have no templates
    left, so ``model_dims`` alone would miss them)."""
    found: dict[str, int] = {}
    rows = session.scalars(select(ErasureTombstone).where(col(ErasureTombstone.state) == ErasureState.erased))
    for tombstone in rows:
        found.update({str(k): int(v) for k, v in tombstone.receipt.get("milvus_models", {}).items()})
    return found


class IndexPipeline:
    """A ``VectorIndex`` over Milvus collections (jobs); see the module docstring."""

    def __init__(self, uri: str, models: dict[str, int], *, token: str = "", timeout_s: float = 10.0) -> None:
        self.uri = uri
        self.galleries = {
            model: FaceGallery(uri, model, dim, token=token, timeout_s=timeout_s)
            for model, dim in models.items()
        }

    def gallery(self, model_id: str) -> FaceGallery:
        try:
            return self.galleries[model_id]
        except KeyError:
            raise ValueError(f"no collection is configured for model {model_id}") from None

    async def search(
        self, gallery: str, embeddings: Embeddings, roster: frozenset[str] | None = None
    ) -> list[Match]:
        store = self.gallery(embeddings.model.model_id)
        return await asyncio.to_thread(store.search, gallery, embeddings.vectors, labels=roster)

    async def add(self, gallery: str, label: str, embeddings: Embeddings) -> list[int]:
        store = self.gallery(embeddings.model.model_id)
        return await asyncio.to_thread(store.add, gallery, label, embeddings.vectors)

    async def delete(self, gallery: str, label: str) -> int:
        """From every model's collection (a student may have templates of an older model too)."""
        deleted = 0
        for store in self.galleries.values():
            deleted += await asyncio.to_thread(store.delete, gallery, label)
        return deleted

    async def compact(self, wait_s: float) -> str:
        """The least finished outcome over the collections (``FaceGallery.compact``)."""
        outcomes = {await asyncio.to_thread(store.compact, wait_s) for store in self.galleries.values()}
        for outcome in ("needs_rebuild", "pending"):
            if outcome in outcomes:
                return outcome
        return "completed"

    async def check(self) -> dict[str, str]:
        try:
            for store in self.galleries.values():
                await asyncio.to_thread(store.ping)
        except Exception as exc:
            return {"gallery": f"unavailable: {type(exc).__name__}"}
        return {"gallery": "ok"}

    def close(self) -> None:
        for store in self.galleries.values():
            store.close()


@dataclass
class RebuildReport:
    models: dict[str, int] = field(default_factory=dict)  # model id -> vectors indexed
    templates: dict[str, int] = field(default_factory=dict)  # model id -> templates in PostgreSQL
    schools: int = 0
    students: int = 0

    @property
    def consistent(self) -> bool:
        return self.models == self.templates


async def rebuild_index(engine: Engine, pipeline: IndexPipeline, cipher: TemplateCipher) -> RebuildReport:
    """Drop every model's collection and re-index all templates from PostgreSQL (see the module doc)."""
    report = RebuildReport()
    for store in pipeline.galleries.values():
        await asyncio.to_thread(store.drop)
    index = FaceIndex(pipeline)
    with transaction(engine) as session:
        schools: list[uuid.UUID] = list(session.scalars(select(col(FaceTemplate.school_id)).distinct()))
        report.students = int(session.scalar(select(func.count(func.distinct(FaceTemplate.student_id)))) or 0)
        counts = session.execute(
            select(col(FaceTemplate.model_id), func.count()).group_by(FaceTemplate.model_id)
        )
        report.templates = {model: int(n) for model, n in counts}
    for school_id in schools:
        await rebuild_school(engine, index, cipher, school_id)
    report.schools = len(schools)
    for model, store in pipeline.galleries.items():
        report.models[model] = await asyncio.to_thread(store.count)
    return report
